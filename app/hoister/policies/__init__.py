"""Promotion policies: rules, operators, tag templates, validation, MSR import/export.

Plain Python with no network and no Qt: the GUI editor, the CLI, the importer and the
engine all decide with the same code.
"""

from hoister.policies.cycles import Identities, check_no_cycle, find_cycle
from hoister.policies.errors import CycleError, PolicyError, PolicyNotFound, TemplateError
from hoister.policies.evaluate import Evaluation, evaluate, needed_facts, target_tag
from hoister.policies.model import OverwriteMode, Policy, Route, Rule, TimeZoneMode
from hoister.policies.rules import Outcome, Verdict, compile_rule, describe_rule
from hoister.policies.validation import (
    CompiledPolicy,
    Problem,
    check_policy,
    compile_policy,
    policy_check,
    policy_problems,
)

__all__ = [
    "CompiledPolicy",
    "CycleError",
    "Evaluation",
    "Identities",
    "Outcome",
    "OverwriteMode",
    "Policy",
    "PolicyError",
    "PolicyNotFound",
    "Problem",
    "Route",
    "Rule",
    "TemplateError",
    "TimeZoneMode",
    "Verdict",
    "check_no_cycle",
    "check_policy",
    "compile_policy",
    "compile_rule",
    "describe_rule",
    "evaluate",
    "find_cycle",
    "needed_facts",
    "policy_check",
    "policy_problems",
    "target_tag",
]

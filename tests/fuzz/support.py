"""Settings and strategies shared by the property-based fuzz tests.

``make test`` runs :data:`EXAMPLES` (150) generated cases per property so the suite stays
fast; ``HOISTER_FUZZ_EXAMPLES=2000`` (or more) runs a deep pass. Every case is bounded
twice: hypothesis's ``deadline`` fails a case that takes more than :data:`DEADLINE`, and
pytest-timeout (:data:`fuzz_timeout`) fails a test that hangs outright.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("HOISTER_FUZZ_EXAMPLES", "150"))
DEADLINE = timedelta(seconds=10)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=DEADLINE,
    # One server and one home folder serve every case of a test; each case resets them.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    database=None,  # no example files left in the source tree
)
#: Seconds for a whole property: generous per case, so only a hang trips it.
fuzz_timeout = pytest.mark.timeout(120 + EXAMPLES)

FIELDS = (
    "tag", "component.name", "license.name", "vulnerability_critical", "vulnerability_major",
    "vulnerability_minor", "vulnerability_all", "updated_at", "updated_at_duration", "label",
    "annotation", "platform", "size", "created", "age", "signed",
)  # fmt: skip
OPERATORS = (
    "af", "bf", "c", "eq", "ew", "glob", "gt", "gte", "lt", "lte", "matches", "neq", "noo",
    "oo", "semver", "sw",
)  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**4000), max_value=10**4000)
    | st.floats()  # NaN and infinities included: json.dumps writes them
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=40,
)
#: Strings a parser may trip on: times, huge years, IPv6 brackets, control characters.
tricky_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
            "99999-01-01T00:00:00Z", "2026-05-01T10:00:00Z", "2026-05-01T10:00:00.123456789Z",
            "http://[::1/x", "http://host:port/", "https://example.com/hook", "\x00", "%",
            "%{", "%{x}", "a" * 300, "dev/app", "qa/app", "sha256:" + "a" * 64,
        ]
    ),
)  # fmt: skip


def deep(levels: int, opening: str = "[", closing: str = "]") -> str:
    return opening * levels + closing * levels


def dumps(value: Any, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)

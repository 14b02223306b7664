"""What is known about an image: the inputs of policy evaluation."""

from hoister.facts.model import ImageFacts, Vulnerabilities

__all__ = ["ImageFacts", "Vulnerabilities"]

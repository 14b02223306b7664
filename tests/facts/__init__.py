"""Tests of hoister.facts: SBOMs, scan reports, layers and package databases."""

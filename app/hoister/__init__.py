"""Hoister: a desktop registry manager that promotes images between repositories by policy."""

__version__ = "0.1.0"

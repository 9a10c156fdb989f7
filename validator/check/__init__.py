"""Checking one message against the compiled catalogue."""

from .checker import Checker, VersionError
from .errata import ErrataMatcher
from .template import MISSING, Template, get_path, render

__all__ = ["MISSING", "Checker", "ErrataMatcher", "Template", "VersionError", "get_path", "render"]

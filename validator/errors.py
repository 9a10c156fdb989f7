"""The error every command turns into one line on stderr and exit 2."""

from __future__ import annotations


class UsageError(Exception):
    """A bad option, file, URL or output: printed as one line, exit 2."""

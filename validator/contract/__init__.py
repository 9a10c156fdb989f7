"""Contracts of the bus, from the catalogue or inferred from a capture, and their diff."""


class ContractError(Exception):
    """A contract cannot be built (a bad version, file or capture): one line, exit 2."""

"""Small wording rules every reporter shares: plurals, JSON spellings, severities."""

from __future__ import annotations

import signal

import orjson


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 message`, `2 messages`, `0 messages`."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def json_value(value) -> str:
    """A value as JSON spells it: null, true, "text"; used wherever a report quotes data."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def shown_key(routing_key) -> str:
    """A routing key in prose: quoted, or `none` when the message had none."""
    return "none" if routing_key is None else json_value(routing_key)


def shown_name(name) -> str:
    return "(no name)" if name is None else str(name)


def command_outcome(run: dict) -> str | None:
    """watch's COMMAND in one phrase: `` `pytest` exited with 3 ``, or None without one."""
    if not run.get("command"):
        return None
    if run.get("command_error"):
        return f"`{run['command']}` could not run: {run['command_error']}"
    code = run.get("command_exit")
    if code is None:
        outcome = "did not finish"
    elif code < 0:
        try:
            outcome = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            outcome = f"was killed by signal {-code}"
    else:
        outcome = f"exited with {code}"
    if run.get("interrupted"):
        outcome += f" (the run was interrupted by {run['interrupted']})"
    return f"`{run['command']}` {outcome}"


def code_severity(row: dict) -> str:
    """The severity column of the per-code tables: an erratum turns a code's findings into
    warnings, and the column says so (`warning (erratum)`, or `error; 3 warning (erratum)`
    when only some of them were covered)."""
    covered = row.get("known_deviations") or 0
    if not covered:
        return row["severity"]
    if covered >= row["count"]:
        return "warning (erratum)"
    return f"{row['severity']}; {covered} warning (erratum)"

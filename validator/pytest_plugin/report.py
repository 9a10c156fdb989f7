"""What the plugin writes: a test's failure section, the session's report files, and the
terminal summary's lines."""

from __future__ import annotations

from pathlib import Path

from ..findings import MessageResult

SECTION_BODY_CHARS = 1500
TERMINAL_SHOWN = 10


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def describe_event(event, summary) -> str:
    """An event with its findings and body, redacted when the summary redacts."""
    where = f"during {event.phase}" if event.test != "(session)" else event.phase
    if event.late:
        where = f"after {event.phase} ended (settle window)"
    lines = [f"#{event.index} {event.name or '(no name)'}  routing key "
             f"{event.routing_key!r}, {event.verdict}, {where}"]
    result = MessageResult(event.name, event.routing_key, event.verdict, event.findings)
    for f in summary.finding_dicts(result):
        erratum = f" [erratum {f['erratum']}]" if f.get("erratum") else ""
        lines.append(f"    {f['code']} {f['severity']} at {f['path']}: {f['message']}{erratum}")
    body = summary.body_view(event.body, SECTION_BODY_CHARS)
    lines.append("    body:")
    lines.append(_indent(body, "      "))
    return "\n".join(lines)


def bad_events_section(events, count: int, owner, version: str, phase: str) -> str:
    what = "warnings or errors" if owner.fail_on == "warning" else "errors"
    head = (f"wazo-bus: {count} bus event{'s' if count != 1 else ''} blamed on this test "
            f"({phase}) break{'s' if count == 1 else ''} the Wazo {version} contract "
            f"(fail on {what}):")
    out = [head]
    out += [describe_event(e, owner.summary) for e in events]
    if count > len(events):
        out.append(f"... and {count - len(events)} more (see the wazo-bus report)")
    return "\n".join(out)


def write_reports(summary, reports) -> list[str]:
    """Every --wazo-bus-report file, rendered as `listen` renders its reports; returns
    what was written. The one place the plugin writes report files."""
    from ..commands.common import write_atomic
    from ..reporters import RENDERERS
    written = []
    for path, fmt in reports:
        write_atomic(Path(path), RENDERERS[fmt](summary))
        written.append(f"{fmt} report written to {path}")
    return written


def terminal_lines(total, session_owner, blamed_tests: list[tuple[str, int]],
                   session_bad: tuple[list, int], notes: list[str]) -> list[str]:
    v = total.verdicts
    lines = [f"{total.messages} bus messages checked against the Wazo {total.wazo_version} "
             f"contract: {v['ok']} ok, {v['warn']} warn, {v['fail']} fail "
             f"({total.source})"]
    if blamed_tests:
        lines.append(f"failed by the bus events they caused: {len(blamed_tests)} "
                     f"test{'s' if len(blamed_tests) != 1 else ''}")
        lines += [f"  {nodeid}: {n} event{'s' if n != 1 else ''}"
                  for nodeid, n in blamed_tests]
    listed, count = session_bad
    s = session_owner.summary
    lines.append(f"outside any test (session fixtures, between tests): {s.messages} messages, "
                 f"{count} breaking the contract")
    for event in listed[:TERMINAL_SHOWN]:
        lines.append(_indent(describe_event(event, s), "  "))
    if count > TERMINAL_SHOWN:
        lines.append(f"  ... and {count - TERMINAL_SHOWN} more (see the wazo-bus report)")
    lines += notes
    return lines

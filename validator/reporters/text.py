"""A readable summary for a terminal or a CI log (coloured on a terminal, see outputs)."""

from __future__ import annotations

from ..codes import BY_CODE
from ..delivery.stats import text_lines as delivery_text_lines
from .run_notes import loss_warning
from .wording import code_severity, command_outcome, plural, shown_key, shown_name

SHOWN_FAILING = 5

_SGR = {"passed": "32;1", "failed": "31;1", "nothing tested": "33;1", "interrupted": "33;1",
        "could not run": "33;1",
        "error": "31", "warning": "33", "info": "36", "bold": "1"}


class Paint:
    """ANSI colours when asked for, the plain text otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, text: str, style: str) -> str:
        code = _SGR.get(style)
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled and code else text

    def severity(self, text: str, severity: str) -> str:
        return self(text, severity.split(" ")[0].rstrip(";"))


def _table(rows, headers, aligns, paint_cells=None) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)] if rows else \
        [len(h) for h in headers]

    def fmt(row, paint=None):
        cells = [str(c).rjust(w) if a == ">" else str(c).ljust(w)
                 for c, w, a in zip(row, widths, aligns)]
        if paint:
            cells = paint(cells)  # after padding: escapes have no width
        return "  " + "  ".join(cells).rstrip()
    return [fmt(headers)] + [fmt(r, paint_cells) for r in rows]


def verdict_line(summary, color: bool = False, d: dict | None = None) -> str:
    d = d or summary.as_dict()
    t, v = d["totals"], d["totals"]["verdicts"]
    paint = Paint(color)
    unreadable = t["input_errors"]
    return (f"{plural(t['messages'], 'message')}: {v['ok']} ok, {v['warn']} warn, {v['fail']} fail"
            + (f"; {plural(unreadable, 'unreadable capture line')}" if unreadable else "")
            + f" -> {paint(d['status'].upper(), d['status'])} (exit {d['exit_code']})")


def statistics(summary, color: bool = False) -> str:
    """--statistics: the count per code only, as ruff prints it, then the verdict."""
    d = summary.as_dict()
    paint = Paint(color)
    width = max((len(str(c["count"])) for c in d["codes"]), default=1)
    out = [f"{str(c['count']).rjust(width)}  {c['code']}  "
           f"{paint.severity(code_severity(c), code_severity(c))}  {c['slug']}"
           for c in d["codes"]]
    out.append(verdict_line(summary, color, d))
    return "\n".join(out) + "\n"


def _run_lines(d: dict) -> list[str]:
    out = []
    run = d["run"]
    if command_outcome(run):
        out.append(f"command: {command_outcome(run)}")
    if run.get("stop_reason") not in (None, "done"):
        out.append(f"stopped by: {run['stop_reason']}")
    for gap in run.get("gaps") or []:
        end = gap.get("end_iso", gap.get("end"))
        out.append(f"connection gap: {gap.get('start_iso', gap.get('start'))} -> "
                   f"{'(not closed)' if end is None else end} ({gap.get('reason', '')})")
    loss = loss_warning(run)
    if loss:
        out.append(f"WARNING: {loss}")
    if d["gate"]["missing_required"]:
        out.append("required events never seen: " + ", ".join(d["gate"]["missing_required"]))
    return out


def _coverage_lines(d: dict) -> list[str]:
    cov = d["coverage"]
    n_doc = len(cov["documented_seen"]) + len(cov["documented_not_seen"])
    out = ["", f"Coverage: {len(cov['documented_seen'])} of {n_doc} documented events seen"]
    if cov["documented_not_seen"]:
        out.append("  never seen: " + ", ".join(cov["documented_not_seen"]))
    if cov["ami_events_seen"]:
        out.append(f"  AMI events seen: {len(cov['ami_events_seen'])}")
    if cov["undocumented_seen"]:
        out.append("  undocumented names seen: " + ", ".join(
            f"{k} x{n}" for k, n in list(cov["undocumented_seen"].items())[:20]))
    return out


def _failing_lines(d: dict, paint: Paint, shown: int) -> list[str]:
    out = []
    if d["input_errors"] and shown:
        out += ["", "Unreadable capture lines:"]
        out += [f"  line {e['line']}: X900 {e['message']}" for e in d["input_errors"][:shown]]
    failing = d["failing_messages"]
    if not failing or not shown:
        return out
    out += ["", f"First failing messages ({min(shown, len(failing))} of "
            f"{d['totals']['verdicts']['fail']}):"]
    for m in failing[:shown]:
        where = f"line {m['line']}" if "line" in m else f"#{m.get('index', '?')}"
        out.append(f"- {where}: {shown_name(m['name'])} routing key {shown_key(m['routing_key'])}")
        for f in m["findings"]:
            tag = f" [{f['erratum']}]" if f.get("erratum") else ""
            severity = paint.severity(f["severity"], f["severity"]) + " " * (7 - len(f["severity"]))
            out.append(f"    {f['code']} {severity} {f['path']}: {f['message']}{tag}")
        body = m["body"].rstrip()
        if body:
            out.append("    body: " + body.replace("\n", "\n          "))
    return out


def render(summary, color: bool = False, max_failures: int = SHOWN_FAILING) -> str:
    d = summary.as_dict()
    paint = Paint(color)
    out = [f"wazo-bus-validator {d['tool']['version']}: Wazo {d['wazo_version']} contract, "
           f"source {d['source']}", verdict_line(summary, color, d)]
    out += _run_lines(d)
    if d["events"]:
        out += ["", "Per event:"]
        rows = [(name, e["count"], e["verdicts"].get("ok", 0), e["verdicts"].get("warn", 0),
                 e["verdicts"].get("fail", 0), " ".join(sorted(e["codes"])))
                for name, e in d["events"].items()]
        out += _table(rows, ("event", "msgs", "ok", "warn", "fail", "codes"),
                      ("<", ">", ">", ">", ">", "<"))
    if d["codes"]:
        out += ["", "Per code:"]
        rows = [(c["code"], c["slug"], code_severity(c), c["count"], c["known_deviations"] or "",
                 c["summary"]) for c in d["codes"]]

        def paint_severity(cells):
            word = cells[2].rstrip()
            cells[2] = paint.severity(word, word) + cells[2][len(word):]
            return cells
        out += _table(rows, ("code", "name", "severity", "count", "errata", "meaning"),
                      ("<", "<", "<", ">", ">", "<"), paint_severity)
    if d["known_deviations"]:
        out += ["", "Known deviations (errata, warnings): " + ", ".join(
            f"{k} x{n}" for k, n in d["known_deviations"].items())]
    out += _coverage_lines(d)
    if d.get("delivery"):
        out += [""] + delivery_text_lines(d["delivery"])
    out += _failing_lines(d, paint, max_failures)
    return "\n".join(out) + "\n"


def code_table_markdown() -> str:
    """The README's finding-code table."""
    lines = ["| code | name | severity | meaning |", "|---|---|---|---|"]
    for c in BY_CODE.values():
        lines.append(f"| {c.code} | {c.slug} | {c.severity} | {c.summary} |")
    return "\n".join(lines) + "\n"

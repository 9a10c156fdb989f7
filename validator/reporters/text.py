"""A readable summary for a terminal or a CI log."""

from __future__ import annotations

from ..codes import BY_CODE
from .run_notes import loss_warning

SHOWN_FAILING = 5


def _table(rows, headers, aligns) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)] if rows else \
        [len(h) for h in headers]
    def fmt(row):
        cells = [str(c).rjust(w) if a == ">" else str(c).ljust(w)
                 for c, w, a in zip(row, widths, aligns)]
        return "  " + "  ".join(cells).rstrip()
    return [fmt(headers)] + [fmt(r) for r in rows]


def render(summary) -> str:
    d = summary.as_dict()
    t = d["totals"]
    v = t["verdicts"]
    out = [
        f"wazo-bus-validator {d['tool']['version']}: Wazo {d['wazo_version']} contract, "
        f"source {d['source']}",
        f"{t['messages']} messages: {v['ok']} ok, {v['warn']} warn, {v['fail']} fail"
        + (f"; {t['input_errors']} unreadable capture lines" if t["input_errors"] else "")
        + f" -> {d['status'].upper()} (exit {d['exit_code']})",
    ]
    run = d["run"]
    if run.get("stop_reason") not in (None, "done"):
        out.append(f"stopped by: {run['stop_reason']}")
    for gap in run.get("gaps") or []:
        out.append(f"connection gap: {gap.get('start_iso', gap.get('start'))} -> "
                   f"{gap.get('end_iso', gap.get('end'))} ({gap.get('reason', '')})")
    loss = loss_warning(run)
    if loss:
        out.append(f"WARNING: {loss}")
    if d["gate"]["missing_required"]:
        out.append("required events never seen: " + ", ".join(d["gate"]["missing_required"]))

    if d["events"]:
        out += ["", "Per event:"]
        rows = [(name, e["count"], e["verdicts"].get("ok", 0), e["verdicts"].get("warn", 0),
                 e["verdicts"].get("fail", 0), " ".join(sorted(e["codes"])))
                for name, e in d["events"].items()]
        out += _table(rows, ("event", "msgs", "ok", "warn", "fail", "codes"),
                      ("<", ">", ">", ">", ">", "<"))
    if d["codes"]:
        out += ["", "Per code:"]
        rows = [(c["code"], c["slug"], c["severity"], c["count"], c["known_deviations"] or "",
                 c["summary"]) for c in d["codes"]]
        out += _table(rows, ("code", "name", "severity", "count", "errata", "meaning"),
                      ("<", "<", "<", ">", ">", "<"))
    if d["known_deviations"]:
        out += ["", "Known deviations (errata, warnings): " + ", ".join(
            f"{k} x{n}" for k, n in d["known_deviations"].items())]
    cov = d["coverage"]
    n_doc = len(cov["documented_seen"]) + len(cov["documented_not_seen"])
    out += ["", f"Coverage: {len(cov['documented_seen'])} of {n_doc} documented events seen"]
    if cov["documented_not_seen"]:
        out.append("  never seen: " + ", ".join(cov["documented_not_seen"]))
    if cov["ami_events_seen"]:
        out.append(f"  AMI events seen: {len(cov['ami_events_seen'])}")
    if cov["undocumented_seen"]:
        out.append("  undocumented names seen: " + ", ".join(
            f"{k} x{n}" for k, n in list(cov["undocumented_seen"].items())[:20]))
    if d["input_errors"]:
        out += ["", "Unreadable capture lines:"]
        out += [f"  line {e['line']}: X900 {e['message']}" for e in d["input_errors"][:SHOWN_FAILING]]
    if d["failing_messages"]:
        out += ["", f"First failing messages ({min(SHOWN_FAILING, len(d['failing_messages']))} "
                f"of {v['fail']}):"]
        for m in d["failing_messages"][:SHOWN_FAILING]:
            where = f"line {m['line']}" if "line" in m else f"#{m.get('index', '?')}"
            out.append(f"- {where}: {m['name'] or '(no name)'} routing key {m['routing_key']!r}")
            for f in m["findings"]:
                tag = f" [{f['erratum']}]" if f.get("erratum") else ""
                out.append(f"    {f['code']} {f['severity']:<7} {f['path']}: {f['message']}{tag}")
            body = m["body"].rstrip()
            if body:
                out.append("    body: " + body.replace("\n", "\n          "))
    return "\n".join(out) + "\n"


def code_table_markdown() -> str:
    """The README's finding-code table."""
    lines = ["| code | name | severity | meaning |", "|---|---|---|---|"]
    for c in BY_CODE.values():
        lines.append(f"| {c.code} | {c.slug} | {c.severity} | {c.summary} |")
    return "\n".join(lines) + "\n"

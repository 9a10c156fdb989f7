"""Markdown for a CI job summary or a merge-request comment."""

from __future__ import annotations

from ..delivery.stats import markdown_lines as delivery_markdown_lines

from .run_notes import loss_warning
from .wording import code_severity, command_outcome, plural, shown_key, shown_name


def _esc(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(summary) -> str:
    d = summary.as_dict()
    t = d["totals"]
    v = t["verdicts"]
    icon = {"passed": "✅", "failed": "❌"}.get(d["status"], "⚠️")
    out = [
        f"## {icon} Wazo bus conformance: {d['status']}",
        "",
        f"Wazo {d['wazo_version']} contract · source `{_esc(d['source'])}` · "
        f"{plural(t['messages'], 'message')}: **{v['ok']} ok, {v['warn']} warn, {v['fail']} fail**"
        + (f" · {plural(t['input_errors'], 'unreadable capture line')}" if t["input_errors"] else ""),
        "",
    ]
    if d["gate"]["missing_required"]:
        out += ["Required events never seen: " + ", ".join(
            f"`{n}`" for n in d["gate"]["missing_required"]), ""]
    run = d["run"]
    if command_outcome(run):
        out += [f"Command: {command_outcome(run)}", ""]
    if run.get("gaps"):
        out += [f"Connection gaps: {len(run['gaps'])}", ""]
    loss = loss_warning(run)
    if loss:
        out += [f"⚠️ {loss[0].upper()}{loss[1:]}.", ""]
    if d["codes"]:
        out += ["| code | name | severity | count |", "|---|---|---|---:|"]
        out += [f"| {c['code']} | {c['slug']} | {code_severity(c)} | {c['count']} |" for c in d["codes"]]
        out.append("")
    if d["events"]:
        out += ["<details><summary>Per event</summary>", "",
                "| event | messages | ok | warn | fail |", "|---|---:|---:|---:|---:|"]
        out += [f"| `{_esc(n)}` | {e['count']} | {e['verdicts'].get('ok', 0)} | "
                f"{e['verdicts'].get('warn', 0)} | {e['verdicts'].get('fail', 0)} |"
                for n, e in d["events"].items()]
        out += ["", "</details>", ""]
    cov = d["coverage"]
    n_doc = len(cov["documented_seen"]) + len(cov["documented_not_seen"])
    out.append(f"Coverage: {len(cov['documented_seen'])} of {n_doc} documented events seen.")
    if cov["documented_not_seen"]:
        out.append("Never seen: " + ", ".join(f"`{n}`" for n in cov["documented_not_seen"]) + ".")
    if cov["undocumented_seen"]:
        out.append("Undocumented names: " + ", ".join(
            f"`{_esc(k)}` ×{n}" for k, n in list(cov["undocumented_seen"].items())[:20]) + ".")
    if d.get("delivery"):
        out += ["", "<details><summary>Who receives it</summary>", ""]
        out += [line.replace("## ", "### ", 1) for line in delivery_markdown_lines(d["delivery"])]
        out += ["", "</details>"]
    if d["failing_messages"]:
        out += ["", "### First failing messages", ""]
        for m in d["failing_messages"][:5]:
            where = f"line {m['line']}" if "line" in m else f"#{m.get('index', '?')}"
            out.append(f"- {where} `{_esc(shown_name(m['name']))}` "
                       f"(routing key `{_esc(shown_key(m['routing_key']))}`)")
            for f in m["findings"]:
                out.append(f"  - **{f['code']}** {f['severity']} `{_esc(f['path'])}`: "
                           f"{_esc(f['message'])}")
    return "\n".join(out) + "\n"

"""One self-contained HTML file: inline CSS, inline SVG, a little inline JavaScript.

Rendered from summary.as_dict() like every other report. It reads without JavaScript (every
figure is in an HTML table, the chart is SVG drawn here), prints, and loads nothing: a
Content-Security-Policy forbids any request. The markup is also well-formed XML, which the
unit tests check. Layout and choices: docs/html-report.md.
"""

from __future__ import annotations

import math
from importlib import resources

from .html_chart import gap_list, svg, table
from .html_delivery import delivery_section
from .html_samples import (
    FAILING_BUDGET,
    SAMPLE_BUDGET,
    SEVERITY_MARK,
    SampleIndex,
    SampleWriter,
    code_id,
    codes_section,
    failing_section,
)
from .html_text import attr, count, esc, utc
from .run_notes import loss_warning, run_gaps

STATUS_MARK = {"passed": "✔ PASSED", "failed": "✖ FAILED", "nothing tested": "⚠ NOTHING TESTED"}
CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:")
HEAT_LEVELS = 5
HEAT_ROWS = 100     # events with the most failures first
EVENT_ROWS = 200    # documented events first, then the most frequent names


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("html_assets", name).read_text("utf-8")


def timeline_of(summary, d: dict) -> dict | None:
    if d.get("timeline") is not None:
        return d["timeline"]
    tl = getattr(summary, "timeline", None)
    return tl.as_dict() if tl is not None else None


def catalogue_facts(catalogue) -> dict | None:
    """What the report shows of the catalogue: errata titles and event entries."""
    if catalogue is None:
        return None
    events = {}
    for e in catalogue.events:
        for name, _ in e.concrete_names():
            events[name] = {"routing_key": e.routing_key, "required_acl": e.required_acl,
                            "description": (e.title or e.description or "")[:300]}
    errata = {x.id: {"title": x.title, "events": list(x.events),
                     "codes": sorted({c.code for c in x.covers})} for x in catalogue.errata}
    return {"events": events, "errata": errata}


# -- the verdict -----------------------------------------------------------------------

def reasons(d: dict) -> list[str]:
    t, gate = d["totals"], d["gate"]
    v, m = t["verdicts"], t["messages"]
    out = []
    if not m:
        out.append("No message was checked: a run that tested nothing is not a pass.")
    if v["fail"]:
        # an erratum turns some of a code's findings into warnings: count the errors only
        errors = [(c["count"] - c["known_deviations"], c) for c in d["codes"]
                  if c["severity"] == "error" and c["count"] > c["known_deviations"]]
        top = ", ".join(f"{c['code']} {c['slug']} ×{n:,}" for n, c in
                        sorted(errors, key=lambda e: -e[0])[:5])
        out.append(f"{v['fail']:,} of {count(m, 'message')} failed with errors ({top}).")
    if gate["fail_on"] == "warning" and v["warn"]:
        out.append(f"{count(v['warn'], 'message')} carry warnings, and the gate fails on "
                   "warnings (--fail-on warning).")
    if gate["missing_required"]:
        out.append("Required events never seen: " + ", ".join(gate["missing_required"]) + ".")
    if t["input_errors"]:
        out.append(f"{count(t['input_errors'], 'capture line')} could not be read (X900).")
    if d["status"] == "passed":
        text = f"All {count(m, 'message')} conform to the Wazo {d['wazo_version']} contract"
        if v["warn"]:
            text += f"; {count(v['warn'], 'message')} carry warnings"
        deviations = sum(d["known_deviations"].values())
        if deviations:
            text += f"; {count(deviations, 'finding')} are known deviations covered by errata"
        out.append(text + ".")
    return out


def verdict(d: dict, loss: str | None) -> str:
    status = d["status"]
    t = d["totals"]
    v = t["verdicts"]
    items = "".join(f"<li>{esc(r)}</li>" for r in reasons(d))
    notes = []
    run = d["run"]
    if run.get("stop_reason") not in (None, "done"):
        notes.append(f"Stopped by: {run['stop_reason']}.")
    if loss:
        notes.append(f"⚠ Possible loss: {loss[0].upper()}{loss[1:]}.")
    gaps = run_gaps(run)
    if gaps:
        notes.append(f"{count(len(gaps), 'connection gap')}: see the timeline.")
    note_html = "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    return (f'<header id="verdict" class="verdict st-{attr(status.replace(" ", "-"))}">'
            f'<p class="tool">wazo-bus-validator {esc(d["tool"]["version"])} · Wazo '
            f'{esc(d["wazo_version"])} contract · {esc(d["source"])}</p>'
            f'<h1><span class="status" id="status">{esc(STATUS_MARK.get(status, status))}'
            f'</span> <span class="exit">exit status {esc(d["exit_code"])}</span></h1>'
            f'<p class="totals">{count(t["messages"], "message")}: <b>{v["ok"]:,} ok</b>, '
            f'<b>{v["warn"]:,} warn</b>, <b>{v["fail"]:,} fail</b></p>'
            f'<h2 class="why">Why</h2><ul class="reasons">{items}</ul>{note_html}</header>')


# -- events ----------------------------------------------------------------------------

def _event_errata(name: str, e: dict, index: SampleIndex, d: dict, facts: dict | None) -> list:
    """The errata that applied to this event: seen on its samples, or covering one of its
    codes in the catalogue while counted in the run."""
    found = set()
    for code in e["codes"]:
        for m in index.samples.get((name, code), []):
            found.update(f["erratum"] for f in m.get("findings") or [] if f.get("erratum"))
    for eid, x in ((facts or {}).get("errata") or {}).items():
        if d["known_deviations"].get(eid) and name in x["events"] and \
                set(x["codes"]) & set(e["codes"]):
            found.add(eid)
    return sorted(found)


def _errata_html(ids: list, facts: dict | None) -> str:
    errata = (facts or {}).get("errata") or {}
    return ", ".join(f'<abbr title="{attr(errata[i]["title"])}">{esc(i)}</abbr>'
                     if i in errata else esc(i) for i in ids)


def events_section(d: dict, index: SampleIndex, facts: dict | None) -> str:
    documented = set(d["coverage"]["documented_seen"]) | set(d["coverage"]["documented_not_seen"])
    out = ['<section id="events" aria-labelledby="events-h"><h2 id="events-h">Per event</h2>']
    shown = _listed_events(d, documented)
    if d["events"]:
        out.append('<table class="sortable" id="events-table"><thead><tr>'
                   '<th scope="col" data-sort="text">event</th>'
                   '<th scope="col" data-sort="text">documented</th>'
                   + "".join(f'<th scope="col" class="n" data-sort="num">{h}</th>'
                             for h in ("messages", "ok", "warn", "fail"))
                   + '<th scope="col">codes</th><th scope="col">errata that applied</th>'
                   '</tr></thead><tbody>')
        for name, e in d["events"].items():
            if name not in shown:
                continue
            vs = e["verdicts"]
            codes = " ".join(f'<a href="{attr(index.href(name, c))}">{esc(c)}</a>&#160;×{n:,}'
                             for c, n in sorted(e["codes"].items()))
            out.append(f'<tr><th scope="row"><code>{esc(name)}</code></th>'
                       f'<td>{"yes" if name in documented else "no"}</td>'
                       f'<td class="n">{e["count"]:,}</td><td class="n">{vs.get("ok", 0):,}</td>'
                       f'<td class="n">{vs.get("warn", 0):,}</td>'
                       f'<td class="n">{vs.get("fail", 0):,}</td><td>{codes}</td>'
                       f'<td>{_errata_html(_event_errata(name, e, index, d, facts), facts)}</td>'
                       '</tr>')
        out.append("</tbody></table>")
        if len(shown) < len(d["events"]):
            out.append(f'<p class="note">{count(len(d["events"]) - len(shown), "more name")} '
                       'with fewer messages not listed: the JSON report has them all.</p>')
    out.append(coverage(d))
    out.append(deviations(d, facts))
    out.append("</section>")
    return "".join(out)


def _listed_events(d: dict, documented: set) -> set:
    names = sorted(d["events"], key=lambda n: (n not in documented, -d["events"][n]["count"], n))
    return set(names[:EVENT_ROWS])


def coverage(d: dict) -> str:
    cov = d["coverage"]
    seen, unseen = cov["documented_seen"], cov["documented_not_seen"]
    out = [(f'<h3 id="coverage">Coverage</h3><p>{len(seen):,} of '
           f'{count(len(seen) + len(unseen), "documented event")} seen.</p>')]
    if unseen:
        out.append("<p>Documented events never seen:</p><ul class=\"names\">"
                   + "".join(f"<li><code>{esc(n)}</code></li>" for n in unseen) + "</ul>")
    if cov["ami_events_seen"]:
        out.append(f"<p>AMI events seen: {len(cov['ami_events_seen']):,}.</p>")
    if cov["undocumented_seen"]:
        names = list(cov["undocumented_seen"].items())
        out.append("<p>Undocumented names seen: " + ", ".join(
            f"<code>{esc(k)}</code> ×{n:,}" for k, n in names[:50])
            + (f" and {len(names) - 50:,} more" if len(names) > 50 else "") + ".</p>")
    return "".join(out)


def deviations(d: dict, facts: dict | None) -> str:
    if not d["known_deviations"]:
        return ""
    errata = (facts or {}).get("errata") or {}
    title_head = '<th scope="col">title</th>' if errata else ""
    rows = "".join(
        f'<tr><th scope="row">{esc(k)}</th>'
        + (f'<td>{esc(errata.get(k, {}).get("title", ""))}</td>' if errata else "")
        + f'<td class="n">{n:,}</td></tr>' for k, n in d["known_deviations"].items())
    return ('<h3 id="errata">Known deviations (errata)</h3><p>Findings the catalogue\'s errata '
            'cover: the shipped 17.08 code departs from its page here, and the gate accepts '
            f'it.</p><table><thead><tr><th scope="col">erratum</th>{title_head}'
            f'<th scope="col" class="n">findings</th></tr></thead><tbody>{rows}</tbody></table>')


# -- the heat table --------------------------------------------------------------------

def _level(n: int, top: int) -> int:
    if top <= 1:
        return HEAT_LEVELS
    return 1 + int((HEAT_LEVELS - 1) * math.log(n) / math.log(top))


def heat_section(d: dict, index: SampleIndex) -> str:
    rows = [(name, e) for name, e in d["events"].items() if e["codes"]]
    head = '<section id="heat" aria-labelledby="heat-h"><h2 id="heat-h">Events × finding codes</h2>'
    if not rows:
        return head + "<p>No finding in any event.</p></section>"
    codes = d["codes"]
    rows.sort(key=lambda r: (-r[1]["verdicts"].get("fail", 0), -sum(r[1]["codes"].values()),
                             r[0]))
    hidden = len(rows) - HEAT_ROWS
    rows = rows[:HEAT_ROWS]
    top = max(n for _, e in rows for n in e["codes"].values())
    out = [head, ('<p>Findings per event and code; each count links to its samples. Darker '
           'means more, and the number is always written. Severity: ✖ error, ▲ warning, ℹ info.'
           '</p><div class="scroll">'
           '<table class="heat" id="heat-table"><thead><tr><th scope="col">event</th>')]
    for c in codes:
        out.append(f'<th scope="col" class="sev-{attr(c["severity"])}"><a href="#'
                   f'{code_id(attr(c["code"]))}" title="{attr(c["slug"])}: '
                   f'{attr(c["summary"])}">{esc(c["code"])}</a><br/><small class="sev-{attr(c["severity"])}" aria-hidden="true">'
                   f'{esc(SEVERITY_MARK.get(c["severity"], c["severity"])[0])}</small>'
                   f'<span class="sr"> {esc(c["severity"])}</span></th>')
    out.append('</tr></thead><tbody>')
    for name, e in rows:
        out.append(f'<tr><th scope="row"><code>{esc(name)}</code></th>')
        for c in codes:
            n = e["codes"].get(c["code"])
            if not n:
                out.append("<td></td>")
                continue
            out.append(f'<td class="l{_level(n, top)} sev-{attr(c["severity"])}"><a href="'
                       f'{attr(index.href(name, c["code"]))}">{n:,}</a></td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    if hidden > 0:
        out.append(f'<p class="note">{count(hidden, "more event")} with findings, fewer '
                   'failures: see the per-event table.</p>')
    out.append("</section>")
    return "".join(out)


# -- metadata and page -----------------------------------------------------------------

RUN_LABELS = {
    "stop_reason": "stop reason", "url": "bus", "exchange": "exchange", "bindings": "bindings",
    "messages_received": "messages received", "reconnects": "reconnects",
    "queue_max_length": "queue bound (x-max-length)", "peak_backlog": "peak backlog",
    "may_have_lost": "may have lost messages", "lost_estimate": "drop estimate",
    "undrained": "left undrained at the stop",
}


def _value(v) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def metadata(d: dict) -> str:
    started, ended = d.get("started_at"), d.get("ended_at")
    rows = [("tool", f"{d['tool']['name']} {d['tool']['version']}"),
            ("target Wazo version", d["wazo_version"]), ("source", d["source"]),
            ("started", utc(started)), ("ended", utc(ended))]
    if isinstance(started, (int, float)) and isinstance(ended, (int, float)):
        rows.append(("duration", f"{ended - started:,.1f} s"))
    gate = d["gate"]
    rows.append(("gate", f"fails on {gate['fail_on']}"
                 + (f"; requires {', '.join(gate['require'])}" if gate["require"] else "")))
    run = d["run"]
    for key, label in RUN_LABELS.items():
        if key in run and run[key] is not None:
            rows.append((label, _value(run[key])))
    recorded = run.get("recorded")
    for entry in recorded if isinstance(recorded, list) else [recorded]:
        if isinstance(entry, dict):
            rows.append(("when recorded", "; ".join(f"{k}: {_value(v)}" for k, v in entry.items()
                                                    if k != "gaps" and v is not None)))
    for key, v in run.items():
        if key not in RUN_LABELS and key not in ("gaps", "recorded", "started_at", "ended_at"):
            rows.append((key, _value(v)[:500]))
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    return ('<section id="metadata" aria-labelledby="meta-h"><h2 id="meta-h">Run</h2>'
            f'<dl class="meta">{items}</dl></section>')


def timeline_section(tl: dict | None, run: dict, loss: str | None) -> str:
    caption = ""
    if tl and tl.get("buckets"):
        axis = ("arrival time (UTC)" if tl["by"] == "time"
                else "capture line (the capture carries no arrival times)")
        width = tl["bucket"]
        unit = "s" if tl["by"] == "time" else ("line" if width == 1 else "lines")
        caption = f"By {axis}, in buckets of {width:g} {unit}."
        if tl.get("unplaced"):
            caption += f" {count(tl['unplaced'], 'message')} without a place on this axis."
    loss_html = f'<p class="loss-note">⚠ Possible loss: {esc(loss)}.</p>' if loss else ""
    help_text = ("Each bar is an interval; failing messages are hatched and marked ▲ under "
                 "the axis; gaps are shaded. Hover a bar, or focus the chart and use the "
                 "arrow keys, Home and End (f: the next interval with failures)."
                 if caption else "")
    return ('<section id="timeline" aria-labelledby="timeline-h"><h2 id="timeline-h">Timeline'
            f'</h2><p>{esc(caption)}</p><figure>{svg(tl, run, loss)}'
            f'<figcaption id="tl-help">{help_text}</figcaption></figure>'
            '<p id="tl-readout" class="readout" aria-live="polite"></p>'
            f'{loss_html}{gap_list(run)}{table(tl)}</section>')


def render(summary) -> str:
    d = summary.as_dict()
    tl = timeline_of(summary, d)
    facts = catalogue_facts(getattr(summary, "catalogue", None))
    loss = loss_warning(d["run"])
    index = SampleIndex(d)
    writer = SampleWriter(SAMPLE_BUDGET, facts)
    failing_writer = SampleWriter(FAILING_BUDGET, facts)
    title = f"Wazo bus conformance: {d['status']} (exit {d['exit_code']}) · {d['source']}"
    sections = [timeline_section(tl, d["run"], loss), heat_section(d, index),
                events_section(d, index, facts), delivery_section(d),
                codes_section(d, index, writer, facts),
                failing_section(d, failing_writer), metadata(d)]
    nav = "".join(f'<li><a href="#{i}">{t}</a></li>' for i, t in (
        ("timeline", "Timeline"), ("heat", "Events × codes"), ("events", "Per event"),
        ("delivery", "Delivery"), ("codes", "Findings by code"), ("failing", "First failing"), ("metadata", "Run"))
        if any(part.startswith(f'<section id="{i}"') for part in sections))
    body = [verdict(d, loss), f'<nav aria-label="Sections"><ul>{nav}</ul></nav>',
            '<main id="main">', *sections]
    left_out = writer.left_out + failing_writer.left_out
    if left_out:
        body.append(f'<p class="note">{count(left_out, "sample")} left out to keep the '
                    'report small: the JSON report has them all.</p>')
    body.append("</main>")
    return ('<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml" lang="en"><head>'
            '<meta charset="utf-8"/>'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}"/>'
            '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
            '<meta name="generator" content="wazo-bus-validator"/>'
            '<link rel="icon" href="data:,"/>'
            f'<title>{esc(title)}</title>'
            f'<style>/*<![CDATA[*/\n{_asset("report.css")}\n/*]]>*/</style></head>'
            f'<body><a class="skip" href="#main">Skip to the report</a>{"".join(body)}'
            f'<script>//<![CDATA[\n{_asset("report.js")}\n//]]></script></body></html>\n')

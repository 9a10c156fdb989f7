"""The per-code part of the HTML report: meaning, catalogue entry, samples with highlights.

The summary already caps samples (3 per event and code); this module caps what it renders
again so that a report stays small whatever the number of distinct names and codes: at most
GROUPS_PER_CODE events per code get their samples shown, at most FINDINGS_SHOWN findings are
listed per sample, and once SAMPLE_BUDGET characters of samples are written, later samples
are only counted.
"""

from __future__ import annotations

from .html_text import attr, body_html, count, esc, utc

GROUPS_PER_CODE = 10
FINDINGS_SHOWN = 20
SAMPLE_BUDGET = 550_000     # the samples under the codes
FAILING_BUDGET = 150_000    # the first failing messages, apart
ALSO_NAMED = 20
SEVERITY_MARK = {"error": "✖ error", "warning": "▲ warning", "info": "ℹ info"}


def code_id(code: str) -> str:
    return f"c-{code}"


class SampleIndex:
    """Which (event, code) samples exist and the anchor each one gets when rendered."""

    def __init__(self, d: dict):
        self.samples = {(s["event"], s["code"]): s["messages"] for s in d["samples"]}
        self.anchors: dict[tuple[str, str], str] = {}
        by_code: dict[str, list[tuple[int, str]]] = {}
        for name, e in d["events"].items():
            for code, n in e["codes"].items():
                by_code.setdefault(code, []).append((-n, name))
        self.events_by_code = {c: [name for _, name in sorted(v)] for c, v in by_code.items()}
        for code, names in self.events_by_code.items():
            for name in names[:GROUPS_PER_CODE]:
                if (name, code) in self.samples:
                    self.anchors[(name, code)] = f"s{len(self.anchors)}"

    def href(self, name: str, code: str) -> str:
        return "#" + self.anchors.get((name, code), code_id(code))


def where_text(m: dict) -> str:
    parts = []
    if "line" in m:
        parts.append(f"line {m['line']:,}" if isinstance(m["line"], int) else f"line {m['line']}")
    elif "index" in m:
        parts.append(f"message #{m['index']}")
    if m.get("received_at") is not None:
        parts.append(f"received {utc(m['received_at'])}")
    return ", ".join(parts) or "sample"


def finding_items(findings: list[dict], current: str | None = None,
                  errata: dict | None = None) -> str:
    out = []
    for f in findings[:FINDINGS_SHOWN]:
        cls = ' class="current"' if f["code"] == current else ""
        erratum = ""
        if f.get("erratum"):
            title = (errata or {}).get(f["erratum"], {}).get("title")
            erratum = (f' <span class="erratum">known deviation {esc(f["erratum"])}'
                       + (f": {esc(title)}" if title else "") + "</span>")
        out.append(f'<li{cls}><a href="#{code_id(attr(f["code"]))}"><b>{esc(f["code"])}</b></a> '
                   f'<span class="sev sev-{attr(f["severity"])}">{esc(f["severity"])}</span> '
                   f'<code>{esc(f["path"])}</code>: {esc(f["message"])}{erratum}</li>')
    if len(findings) > FINDINGS_SHOWN:
        out.append(f"<li>and {count(len(findings) - FINDINGS_SHOWN, 'more finding')}</li>")
    return '<ul class="findings">' + "".join(out) + "</ul>"


class SampleWriter:
    """Renders samples while keeping count of the characters spent on them."""

    def __init__(self, budget: int = SAMPLE_BUDGET, facts: dict | None = None):
        self.budget = budget
        self.errata = (facts or {}).get("errata") or {}
        self.spent = 0
        self.left_out = 0

    def sample(self, m: dict, current: str | None = None) -> str:
        if self.spent >= self.budget:
            self.left_out += 1
            return ""
        name = m.get("name")
        findings = m.get("findings") or []
        out = (f'<p class="where">{esc(where_text(m))} · event <code>'
               f'{esc(name if name is not None else "(no name)")}</code> · routing key <code>'
               f'{esc(m.get("routing_key"))}</code> · verdict <b>{esc(m.get("verdict"))}</b></p>'
               + finding_items(findings, current, self.errata))
        body = m.get("body") or ""
        if body:
            shown, notes = body_html(body, findings[:FINDINGS_SHOWN], current)
            out += f'<pre class="body">{shown}</pre>'
            if notes:
                out += ('<p class="note">Not whole JSON (cut at the sample limit, redacted or '
                        'broken): paths not highlighted: ' + esc("; ".join(notes)) + "</p>")
        html = f'<article class="sample">{out}</article>'
        self.spent += len(html)
        return html


def _catalogue_entry(name: str, facts: dict | None) -> str:
    entry = (facts or {}).get("events", {}).get(name)
    if not entry:
        return ""
    acl = entry.get("required_acl")
    return (f'<p class="entry">Catalogue: routing key <code>{esc(entry.get("routing_key"))}'
            f'</code>, required ACL '
            + (f"<code>{esc(acl)}</code>" if acl else "none documented")
            + (f". {esc(entry['description'])}" if entry.get("description") else "") + "</p>")


def codes_section(d: dict, index: SampleIndex, writer: SampleWriter, facts: dict | None) -> str:
    if not d["codes"]:
        why = ("No finding: every message matched the contract." if d["totals"]["messages"]
               else "No finding: no message was checked.")
        return ('<section id="codes" aria-labelledby="codes-h"><h2 id="codes-h">Findings by '
                f'code</h2><p>{why}</p></section>')
    out = ['<section id="codes" aria-labelledby="codes-h"><h2 id="codes-h">Findings by code</h2>']
    for c in d["codes"]:
        code = c["code"]
        covered = (f", {c['known_deviations']:,} covered by errata"
                   if c.get("known_deviations") else "")
        out.append(f'<section class="code sev-{attr(c["severity"])}" id="{code_id(attr(code))}" '
                   f'aria-labelledby="h-{attr(code)}"><h3 id="h-{attr(code)}">{esc(code)} '
                   f'<span class="slug">{esc(c["slug"])}</span> '
                   f'<span class="sev sev-{attr(c["severity"])}">'
                   f'{esc(SEVERITY_MARK.get(c["severity"], c["severity"]))}</span> '
                   f'<span class="n">{count(c["count"], "finding")}{covered}</span></h3>'
                   f'<p class="meaning">{esc(c["summary"])}</p>')
        names = index.events_by_code.get(code, [])
        for name in names[:GROUPS_PER_CODE]:
            n = d["events"][name]["codes"][code]
            anchor = index.anchors.get((name, code))
            ident = f' id="{anchor}"' if anchor else ""
            out.append(f'<div class="group"><h4{ident}><code>{esc(name)}</code>: '
                       f'{count(n, "finding")}</h4>{_catalogue_entry(name, facts)}')
            for m in index.samples.get((name, code), []):
                out.append(writer.sample(m, code))
            out.append("</div>")
        rest = names[GROUPS_PER_CODE:]
        if rest:
            shown = ", ".join(f"<code>{esc(nm, 80)}</code> ×{d['events'][nm]['codes'][code]:,}"
                              for nm in rest[:ALSO_NAMED])
            more = f" and {len(rest) - ALSO_NAMED:,} more" if len(rest) > ALSO_NAMED else ""
            out.append(f'<p class="also">Also in {count(len(rest), "other event")}: '
                       f'{shown}{more}.</p>')
        out.append("</section>")
    out.append("</section>")
    return "".join(out)


def failing_section(d: dict, writer: SampleWriter) -> str:
    failing, errors = d["failing_messages"], d["input_errors"]
    if not failing and not errors:
        return ""
    out = [('<section id="failing" aria-labelledby="failing-h"><h2 id="failing-h">'
           'First failing messages</h2>')]
    total = d["totals"]["verdicts"]["fail"]
    if failing:
        out.append(f"<p>The first {len(failing):,} of {count(total, 'failing message')}, "
                   "in arrival order.</p>")
        out.extend(writer.sample(m) for m in failing)
    if errors:
        out.append(f'<h3>Unreadable capture lines ({d["totals"]["input_errors"]:,})</h3><ul>')
        out.extend(f"<li>line {esc(e['line'])}: <b>{esc(e['code'])}</b> {esc(e['message'])}</li>"
                   for e in errors)
        out.append("</ul>")
    out.append("</section>")
    return "".join(out)

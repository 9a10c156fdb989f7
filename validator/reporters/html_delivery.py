"""The delivery part of the HTML report: who each event reaches through xivo-websocketd,
as simulated by the run loop, against who the page says it should reach. Rendered only
when the summary carries delivery counts; read defensively, since only counts are used."""

from __future__ import annotations

from .html_samples import code_id
from .html_text import attr, count, esc

DELIVERY_ROWS = 200


def _audiences(counts) -> str:
    if not isinstance(counts, dict):
        return ""
    return ", ".join(f"{esc(k)} ×{n:,}" if isinstance(n, int) else esc(k)
                     for k, n in list(counts.items())[:10])


def _consequences(counts, reported: set) -> str:
    """Codes link to their section, when the run reports them (--ignore may drop one)."""
    if not isinstance(counts, dict):
        return ""
    return " ".join((f'<a href="#{code_id(attr(c))}">{esc(c)}</a>' if c in reported else esc(c))
                    + f"&#160;×{n:,}" for c, n in counts.items() if isinstance(n, int))


def delivery_section(d: dict) -> str:
    delivery = d.get("delivery")
    if not isinstance(delivery, dict) or not isinstance(delivery.get("events"), dict):
        return ""
    events = delivery["events"]
    lost = delivery.get("lost") or 0
    head = (f'<section id="delivery" aria-labelledby="delivery-h"><h2 id="delivery-h">Delivery '
            f'to websocket clients</h2><p>Each message\'s delivery through xivo-websocketd, '
            f'simulated from its required_acl: {count(delivery.get("messages") or 0, "message")}'
            f'; {count(lost, "message")} never reach the user they concern.</p>')
    ranked = sorted(events.items(), key=lambda kv: (-(kv[1].get("lost") or 0),
                                                    -sum((kv[1].get("consequences") or {}).values()),
                                                    kv[0]))
    reported = {c["code"] for c in d["codes"]}
    rows = []
    for name, e in ranked[:DELIVERY_ROWS]:
        rows.append(f'<tr><th scope="row"><code>{esc(name)}</code></th>'
                    f'<td class="n">{int(e.get("messages") or 0):,}</td>'
                    f'<td>{_audiences(e.get("expected"))}</td>'
                    f'<td>{_audiences(e.get("actual"))}</td>'
                    f'<td class="n">{int(e.get("lost") or 0):,}</td>'
                    f'<td>{_consequences(e.get("consequences"), reported)}</td></tr>')
    more = (f'<p class="note">{count(len(events) - DELIVERY_ROWS, "more event")} not listed.</p>'
            if len(events) > DELIVERY_ROWS else "")
    return (head + '<div class="scroll"><table><thead><tr><th scope="col">event</th>'
            '<th scope="col" class="n">messages</th><th scope="col">the page sends it to</th>'
            '<th scope="col">actually delivered to</th>'
            '<th scope="col" class="n">lost to their user</th>'
            '<th scope="col">consequences</th></tr></thead><tbody>' + "".join(rows)
            + f"</tbody></table></div>{more}</section>")

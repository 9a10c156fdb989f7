"""The timeline of the HTML report: an inline SVG drawn here, plus the same data as a table.

Plain SVG rather than a chart library: one bar chart with an overlay needs about a hundred
lines, it draws without JavaScript (and prints), and nothing has to be vendored, updated
or audited. Why, in docs/html-report.md.
"""

from __future__ import annotations

import math

from .html_text import count, esc, utc
from .run_notes import run_gaps

WIDTH, HEIGHT = 960, 250
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 30, 56
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
GAPS_DRAWN = 100
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
              43200, 86400, 172800, 604800)
MAX_TICKS = 8


def _nice_ceiling(x: float) -> float:
    if x <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(x))
    for step in (1, 2, 2.5, 5, 10):
        if x <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _fmt(x: float) -> str:
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def _px(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _ticks(start: float, end: float, by_time: bool) -> list[float]:
    span = max(end - start, 1e-9)
    step = next((s for s in TIME_STEPS if span / s <= MAX_TICKS), None) if by_time else None
    step = step or _nice_ceiling(span / MAX_TICKS)
    first = math.ceil(start / step) * step
    return [first + i * step for i in range(int((end - first) // step) + 1)]


def _label(x: float, by_time: bool, span: float) -> str:
    if not by_time:
        return f"line {x:,.0f}"
    text = utc(x)
    if span > 180 * 86400:
        return text[:10] or str(x)
    return text[5:16] if span > 86400 else text[11:19]


def _where(x: float, by_time: bool, width: float) -> str:
    if not by_time:
        last = x + width - 1
        return f"line {x:,.0f}" if width == 1 else f"lines {x:,.0f} to {last:,.0f}"
    text = utc(x)
    if width < 1 and text:
        text = f"{text[:19]}.{round(x % 1 * 1000):03d}{text[19:]}"
    return f"{text} + {width:g} s"


def svg(tl: dict | None, run: dict, loss: str | None) -> str:
    """The chart, or a framed note when there is nothing to draw."""
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" id="tl-chart" class="chart" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="group" tabindex="0" '
            f'aria-labelledby="tl-title" aria-describedby="tl-help">')
    defs = ('<defs><pattern id="hatch-fail" width="6" height="6" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)"><rect width="6" height="6" class="fail-bg"/>'
            '<rect width="2" height="6" class="fail-line"/></pattern>'
            '<pattern id="hatch-gap" width="8" height="8" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(-45)"><rect width="3" height="8" class="gap-line"/>'
            '</pattern></defs>')
    frame = (f'<rect class="frame" x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}"/>')
    if not tl or not tl.get("buckets"):
        if tl is None:
            note = "This run's summary carries no timeline."
        elif not tl.get("total", {}).get("messages"):
            note = "No message was checked: nothing to draw."
        else:
            note = "No message carried an arrival time or a line number."
        return (head + "<title id=\"tl-title\">Timeline</title>" + defs + frame
                + f'<text class="empty" x="{WIDTH / 2}" y="{TOP + PLOT_H / 2}" '
                f'text-anchor="middle">{esc(note)}</text></svg>')
    by_time = tl["by"] == "time"
    width, origin, buckets = float(tl["bucket"]), float(tl["origin"]), tl["buckets"]
    n = len(buckets)
    end = origin + n * width
    per = (lambda m: m / width) if by_time else (lambda m: m)
    top = _nice_ceiling(max(per(m) for m, _ in buckets))
    bar_w = PLOT_W / n
    out = [head, f'<title id="tl-title">{esc(_title(tl))}</title>', defs, frame]
    for frac in (0.5, 1.0):
        y = TOP + PLOT_H * (1 - frac)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{_px(y)}" '
                   f'y2="{_px(y)}"/><text class="tick" x="{LEFT - 6}" y="{_px(y + 4)}" '
                   f'text-anchor="end">{esc(_fmt(top * frac))}</text>')
    out.append(f'<text class="tick" x="{LEFT - 6}" y="{TOP + PLOT_H + 4}" '
               'text-anchor="end">0</text>')
    unit = ("messages per second" if by_time else
            "messages per line" if width == 1 else f"messages per {_fmt(width)} lines")
    out.append(f'<text class="axis" x="{LEFT}" y="{TOP - 10}">{esc(unit)}</text>')
    span = end - origin
    for x in _ticks(origin, end, by_time):
        px = LEFT + (x - origin) / span * PLOT_W
        if px > LEFT + PLOT_W - 48:  # its label would run off the chart
            continue
        out.append(f'<line class="tickmark" x1="{_px(px)}" x2="{_px(px)}" y1="{TOP + PLOT_H}" '
                   f'y2="{TOP + PLOT_H + 16}"/><text class="tick" x="{_px(px + 3)}" '
                   f'y="{TOP + PLOT_H + 28}">{esc(_label(x, by_time, span))}</text>')
    gap_marks = _gap_marks(run_gaps(run), origin, end) if by_time else []
    out.extend(gap_marks)
    out.append(f'<rect class="cursor" x="{LEFT}" y="{TOP}" width="0" height="{PLOT_H}"/>')
    for i, (messages, failing) in enumerate(buckets):
        if not messages:
            continue
        x = LEFT + i * bar_w
        h = max(1.0, per(messages) / top * PLOT_H)
        what = (f"{_where(origin + i * width, by_time, width)}: {count(messages, 'message')}"
                + (f", {failing:,} failing" if failing else ""))
        out.append(f'<g class="b" data-i="{i}"><title>{esc(what)}</title>'
                   f'<rect class="m" x="{_px(x)}" y="{_px(TOP + PLOT_H - h)}" '
                   f'width="{_px(max(bar_w - 0.5, 0.8))}" height="{_px(h)}"/>')
        if failing:
            fh = max(2.0, per(failing) / top * PLOT_H)
            out.append(f'<rect class="f" x="{_px(x)}" y="{_px(TOP + PLOT_H - fh)}" '
                       f'width="{_px(max(bar_w - 0.5, 0.8))}" height="{_px(fh)}"/>'
                       f'<path class="rug" d="M{_px(x + bar_w / 2)} {TOP + PLOT_H + 2}l5 9h-10z"/>')
        out.append("</g>")
    if loss:
        out.append(f'<text class="loss" x="{LEFT + PLOT_W}" y="{TOP - 10}" text-anchor="end">'
                   f'⚠ possible loss<title>{esc(loss)}</title></text>')
    out.append(_legend(bool(gap_marks)))
    out.append("</svg>")
    return "".join(out)


def _gap_marks(gaps: list[dict], origin: float, end: float) -> list[str]:
    out = []
    span = end - origin
    for gap in gaps[:GAPS_DRAWN]:
        start = gap.get("start")
        if not isinstance(start, (int, float)):
            continue
        stop = gap.get("end") if isinstance(gap.get("end"), (int, float)) else end
        a = min(max(start, origin), end)
        b = min(max(stop, origin), end)
        x = LEFT + (a - origin) / span * PLOT_W
        w = max(3.0, (b - a) / span * PLOT_W)
        why = (f"connection lost {utc(start)}, back {utc(gap.get('end')) or 'never'}"
               + (f" ({gap['reason']})" if gap.get("reason") else ""))
        out.append(f'<g class="gap"><title>{esc(why)}</title><rect x="{_px(x)}" y="{TOP}" '
                   f'width="{_px(w)}" height="{PLOT_H}"/><text x="{_px(x + 2)}" '
                   f'y="{TOP + 12}">gap</text></g>')
    return out


def _legend(gaps: bool) -> str:
    y = HEIGHT - 12
    gap_key = (f'<rect class="gap-key" x="{LEFT + 420}" y="{y - 9}" width="12" height="10"/>'
               f'<text x="{LEFT + 436}" y="{y}">connection gap (reconnect)</text>'
               if gaps else "")
    return (f'<g class="legend"><rect class="m" x="{LEFT}" y="{y - 9}" width="12" height="10"/>'
            f'<text x="{LEFT + 16}" y="{y}">messages</text>'
            f'<rect class="f" x="{LEFT + 100}" y="{y - 9}" width="12" height="10"/>'
            f'<path class="rug" d="M{LEFT + 122} {y - 9}l5 9h-10z"/>'
            f'<text x="{LEFT + 132}" y="{y}">failing messages (and a ▲ under the axis)</text>'
            f'{gap_key}</g>')


def _title(tl: dict) -> str:
    total = tl.get("total", {})
    axis = "arrival time" if tl["by"] == "time" else "capture line"
    return (f"Timeline by {axis}: {count(total.get('messages', 0), 'message')}, "
            f"{count(total.get('failing', 0), 'failing message')}")


def table(tl: dict | None) -> str:
    """The non-empty buckets as a table: what the chart shows, for any reader."""
    if not tl or not tl.get("buckets"):
        return ""
    by_time = tl["by"] == "time"
    width, origin = float(tl["bucket"]), float(tl["origin"])
    rows = [(i, m, f) for i, (m, f) in enumerate(tl["buckets"]) if m]
    head = "from" if by_time else "lines"
    out = [(f'<details class="tl-data"><summary>The timeline as a table '
           f'({count(len(rows), "interval")} with messages)</summary>'
           f'<table><thead><tr><th scope="col">{head}</th><th scope="col" class="n">messages'
           f'</th><th scope="col" class="n">failing</th></tr></thead><tbody>')]
    for i, m, f in rows:
        out.append(f'<tr><td>{esc(_where(origin + i * width, by_time, width))}</td>'
                   f'<td class="n">{m:,}</td><td class="n">{f:,}</td></tr>')
    out.append("</tbody></table></details>")
    return "".join(out)


def gap_list(run: dict) -> str:
    gaps = run_gaps(run)
    if not gaps:
        return ""
    items = [f"<li>{esc(utc(g.get('start')) or g.get('start'))} to "
             f"{esc(utc(g.get('end')) or 'the end of the run')}"
             + (f" ({esc(g['reason'])})" if g.get("reason") else "") + "</li>"
             for g in gaps[:20]]
    more = f"<li>and {len(gaps) - 20:,} more</li>" if len(gaps) > 20 else ""
    return (f'<p>{count(len(gaps), "connection gap")} (the connection was lost and '
            f'retried; messages published meanwhile were not seen):</p>'
            f'<ul class="gaps">{"".join(items)}{more}</ul>')


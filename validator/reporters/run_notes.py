"""What a live run's facts say about messages that were not checked, in one sentence."""

from __future__ import annotations

from .wording import plural


def run_gaps(run: dict) -> list[dict]:
    """The connection gaps of a live run, else those its replayed recordings' end lines
    name (`recorded`: one entry per capture file)."""
    gaps = run.get("gaps")
    if not gaps:
        recorded = run.get("recorded") or []
        gaps = [g for entry in (recorded if isinstance(recorded, list) else [recorded])
                if isinstance(entry, dict) for g in entry.get("gaps") or []]
    return [g for g in gaps if isinstance(g, dict)]


def loss_warning(run: dict) -> str | None:
    """None when nothing may have been lost; else why, with the figures the source gave."""
    if not run.get("may_have_lost"):
        return None
    parts = []
    if run.get("lost_estimate"):
        parts.append(f"the bounded queue overflowed: about {plural(run['lost_estimate'], 'message')} "
                     "dropped unchecked")
    if run.get("undrained"):
        parts.append(f"the drain at the stop was cut short: {plural(run['undrained'], 'message')} "
                     "left in the queue (and any on their way) went unchecked")
    gaps = run_gaps(run)
    if gaps:
        parts.append(f"the connection was lost {plural(len(gaps), 'time')}: what the broker had "
                     "already sent and what was published until the tool was back went "
                     "unchecked (it cannot be counted)")
    if str(run.get("stop_reason", "")).startswith("source-died"):
        parts.append("the consumer process died: what it had received was lost")
    if not parts:
        parts.append("the bounded queue was full: some messages may have been dropped unchecked")
    return "; ".join(parts)

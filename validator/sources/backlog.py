"""The drop estimate of a bounded drop-head queue, from samples of its ready count
(the method: docs/design.md, "Dropped-message estimate")."""

from __future__ import annotations


class BacklogEstimator:
    """Peak backlog and drop estimate from periodic ready-count samples.

    """

    def __init__(self, max_length: int):
        self.max_length = max_length
        self.peak = 0
        self.lost = 0.0
        self.may_have_lost = False
        self.rate_ref = 0.0
        self.last_ready = 0
        self._prev: tuple[float, int, int] | None = None

    def sample(self, t: float, ready: int, received: int, traffic_start: float | None) -> bool:
        """Record a sample; ``t`` and ``traffic_start`` on the same (monotonic) clock.

        ``received`` is the running count of deliveries that reached the
        client; ``traffic_start`` the time of the first delivery since the
        previous sample (None if none).  Returns True when the queue is full.
        """
        ready = max(0, int(ready))
        self.peak = max(self.peak, ready)
        self.last_ready = ready
        saturated = ready >= self.max_length
        if saturated:
            self.may_have_lost = True
        prev, self._prev = self._prev, (t, ready, received)
        if prev is None:
            return saturated
        t0, q0, r0 = prev
        dt = t - t0
        if dt <= 0:
            return saturated
        if q0 == 0 and traffic_start is not None and traffic_start > t0:
            # the queue was empty: traffic (arrivals) began around the first delivery
            dt = max(t - traffic_start, min(dt, 0.02))
        survived = max(0, (received - r0) + (ready - q0))
        rate = survived / dt
        if saturated:
            ref = max(self.rate_ref, rate)
            self.lost += max(0.0, ref * dt - survived)
            self.rate_ref = ref
        else:
            self.rate_ref = rate
        return saturated

    def connection_lost(self) -> None:
        """The exclusive queue died with the connection, and its backlog with it; so did
        what the broker had already sent (no-ack) and the client had not read, which no
        sample can see, and what is published until a new queue is bound. Any lost
        connection may have lost messages."""
        self.lost += self.last_ready
        self.may_have_lost = True
        self.last_ready = 0
        self._prev = None

    @property
    def lost_estimate(self) -> int:
        return int(round(self.lost))

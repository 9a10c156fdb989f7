"""The session's one passive listener: `listen`'s AmqpSource in a background thread, its
deliveries checked by one run loop per owner (see blame.py), and the session's summary, the
merge of every test's."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from ..commands import common
from ..sources.amqp import AmqpSource, SourceError
from ..sources.connection import Tls
from ..summary import Gate, Summary
from ..urls import redact_url, scrub
from .blame import Blame
from .options import Settings, SettingsError

READY_TIMEOUT = 30.0   # the source gives up connecting well before (5 s connect timeout)
STOP_TIMEOUT = 30.0    # the source's drain lasts 10 s at most


class SessionListener:
    def __init__(self, settings: Settings):
        self.settings = settings
        args = SimpleNamespace(catalogue=None, wazo_version=settings.wazo_version, select=[],
                               ignore=list(settings.ignore), require=[],
                               redact=settings.redact, fail_on=settings.fail_on)
        where = f"amqp {redact_url(settings.url)} exchange {settings.exchange}"
        try:
            self.checker = common.build_checker(args)
            self.total = common.build_summary(args, self.checker, where)
            for path, _ in settings.reports:
                common.check_output_writable(path)
            self.source = AmqpSource(settings.url, exchange=settings.exchange,
                                     bindings=settings.bindings, tls=Tls.from_options())
        except (common.UsageError, SourceError) as exc:
            raise SettingsError(scrub(str(exc), settings.url)) from None
        self.blame = Blame(self.checker, self.new_summary, settings.fail_on)
        self.ready = threading.Event()
        self.connected: dict | None = None
        self.error: str | None = None
        self.stats = None
        self.disconnections = 0
        self.thread: threading.Thread | None = None

    def new_summary(self, fail_on: str) -> Summary:
        t = self.total
        return Summary(catalogue_names=t.documented, wazo_version=t.wazo_version,
                       source=t.source, gate=Gate(fail_on=fail_on), redactor=t.redactor)

    # -- the thread ----------------------------------------------------------------
    def _on_event(self, kind: str, info: dict) -> None:
        if kind == "connected":
            self.connected = info
            self.ready.set()
        elif kind == "disconnected":
            self.disconnections += 1

    def _main(self) -> None:
        try:
            self.stats = self.source.run(self.blame.on_delivery, on_event=self._on_event)
        except SourceError as exc:
            self.error = scrub(str(exc), self.settings.url)
        except Exception as exc:  # never let the password ride out on an exception text
            self.error = scrub(f"the listener failed: {type(exc).__name__}: {exc}",
                               self.settings.url)
        finally:
            self.ready.set()

    def start(self) -> None:
        """Returns once the own queue is bound; SettingsError (one line) when it cannot."""
        self.thread = threading.Thread(target=self._main, name="wazo-bus-listener",
                                       daemon=True)
        self.thread.start()
        if not self.ready.wait(READY_TIMEOUT):
            self.source.stop("not connected")
            raise SettingsError(f"no answer from {redact_url(self.settings.url)} within "
                                f"{READY_TIMEOUT:g} s")
        if self.connected is None:
            raise SettingsError(self.error or "the listener stopped before connecting")

    def stop(self) -> Summary:
        """Drain the own queue, stop, and return the session's summary (the merge of the
        tests' summaries and the session's own)."""
        if self.thread is not None and self.thread.is_alive():
            self.source.stop("session-end")
            self.thread.join(STOP_TIMEOUT)
            if self.thread.is_alive():   # the drain outlived its own bound: cut it
                self.source.stop("session-end")
                self.thread.join(STOP_TIMEOUT)
        with self.blame.cond:
            self.total.merge(self.blame.session.summary)
        self.total.finish(**self.run_facts())
        return self.total

    def run_facts(self) -> dict:
        facts = {"url": redact_url(self.settings.url), "exchange": self.settings.exchange,
                 "bindings": list(self.settings.bindings)}
        st = self.stats
        if st is not None:
            facts.update({
                "stop_reason": st.stop_reason, "messages_received": st.messages,
                "reconnects": st.reconnects,
                "gaps": [{"start": g.start, "end": g.end, "reason": g.reason} for g in st.gaps],
                "queue_max_length": st.queue_max_length, "peak_backlog": st.peak_backlog,
                "may_have_lost": st.may_have_lost, "lost_estimate": st.lost_estimate,
                "undrained": st.undrained, "started_at": st.started_at,
                "ended_at": st.ended_at})
        elif self.error:
            facts["stop_reason"] = f"listener-failed: {self.error}"
        return facts

"""The one place that turns a bus URL into a pika connection: URL -> parameters (TLS
included), connect, and a pika or socket error described in one line, the password hidden."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pika
import pika.exceptions
from pika.adapters.utils import connection_workflow as _cw

from validator.urls import redact_url, scrub

TLS_ENV = {"ca_file": "WAZO_BUS_CA_FILE", "cert": "WAZO_BUS_CERT", "key": "WAZO_BUS_KEY"}


class SourceError(Exception):
    """One-line, user-facing; the CLI prints it and exits 2."""


@dataclass(frozen=True)
class Tls:
    """Client-side TLS for amqps://: a CA bundle and an optional client certificate.
    Verification of the server's certificate and host name is always on."""

    ca_file: str | None = None
    cert: str | None = None
    key: str | None = None

    @classmethod
    def from_options(cls, ca_file=None, cert=None, key=None) -> "Tls":
        """The command line's values, else the environment's (WAZO_BUS_CA_FILE, ...)."""
        given = {"ca_file": ca_file, "cert": cert, "key": key}
        return cls(**{k: v if v else (os.environ.get(TLS_ENV[k]) or None)
                      for k, v in given.items()})

    @property
    def given(self) -> bool:
        return bool(self.ca_file or self.cert or self.key)

    def context(self) -> ssl.SSLContext:
        if self.key and not self.cert:
            raise SourceError("--key needs --cert (the client certificate)")
        try:
            ctx = ssl.create_default_context(cafile=self.ca_file)
            if self.cert:
                ctx.load_cert_chain(self.cert, self.key)
        except FileNotFoundError as exc:
            raise SourceError(f"TLS file {exc.filename}: not found") from None
        except (ssl.SSLError, OSError) as exc:
            raise SourceError(f"TLS files cannot be used: {one_line(describe(exc))}") from None
        return ctx


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def parameters(url: str, *, connect_timeout: float = 5.0, connection_name: str | None = None,
               tls: Tls | None = None) -> pika.URLParameters:
    """pika parameters for `url`; SourceError (password-free) when the URL is unusable.

    The parser's own messages are never shown: they can quote part of a password that holds
    an unencoded '/', '#' or '?' ("Port could not be cast to integer value as 'S3cret'")."""
    where = redact_url(url)
    if not isinstance(url, str) or not url.strip():
        raise SourceError("bus URL is empty")
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise SourceError(f"invalid bus URL {where}: the port is not a number (a password "
                          "holding '/', '#', '?' or '@' must be percent-encoded)") from None
    if scheme not in ("amqp", "amqps"):
        raise SourceError(f"invalid bus URL {where}: scheme must be amqp:// or amqps://")
    if tls is not None and tls.given and scheme != "amqps":
        raise SourceError(f"--ca-file, --cert and --key need an amqps:// URL, not {where}")
    try:
        params = pika.URLParameters(url)
    except Exception as exc:
        raise SourceError(f"invalid bus URL {where}: "
                          f"{one_line(scrub(type(exc).__name__, url))}") from None
    query = parse_qs(parts.query) if parts.query else {}
    for key, value in (("socket_timeout", connect_timeout), ("stack_timeout", connect_timeout),
                       ("connection_attempts", 1), ("retry_delay", 0.5)):
        if key not in query:
            setattr(params, key, value)
    if connection_name:
        props = dict(params.client_properties or {})
        props.setdefault("connection_name", connection_name)
        params.client_properties = props
    if scheme == "amqps":
        context = tls.context() if tls is not None and tls.given else (
            params.ssl_options.context if params.ssl_options else ssl.create_default_context())
        # pika passes no server_hostname by default, which fails every verified handshake:
        # use the URL's host (also enables SNI).
        params.ssl_options = pika.SSLOptions(context, server_hostname=params.host)
    return params


def connect(params: pika.URLParameters, url: str) -> pika.BlockingConnection:
    try:
        return pika.BlockingConnection(params)
    except Exception as exc:
        raise SourceError(f"cannot connect to {redact_url(url)}: "
                          f"{one_line(scrub(describe(exc), url))}") from None


_PIKA_WORDS = (
    (pika.exceptions.ProbableAuthenticationError, "authentication refused (check user and password)"),
    (pika.exceptions.ProbableAccessDeniedError, "access denied (check the virtual host and permissions)"),
    (pika.exceptions.IncompatibleProtocolError, "peer does not speak AMQP 0-9-1"),
    (pika.exceptions.AMQPHeartbeatTimeout, "heartbeat timeout"),
    (_cw.AMQPConnectorStackTimeout, "timed out while connecting (TCP/TLS/AMQP handshake)"),
    (ConnectionRefusedError, "connection refused"),
    (TimeoutError, "timed out"),
)


def _unwrap(exc: BaseException) -> BaseException:
    """The error inside pika's wrappers, which say only that some attempt failed."""
    while True:
        if isinstance(exc, _cw.AMQPConnectionWorkflowFailed) and exc.exceptions:
            exc = exc.exceptions[-1]
        elif isinstance(exc, _cw.AMQPConnectorPhaseErrorBase):
            exc = exc.exception
        elif (isinstance(exc, pika.exceptions.AMQPConnectionError) and exc.args
              and isinstance(exc.args[0], BaseException)
              and not isinstance(exc, pika.exceptions.ConnectionClosed)):
            exc = exc.args[0]
        else:
            return exc


def describe(exc: BaseException) -> str:
    """A short description of a pika or socket error (scrub it before showing it)."""
    exc = _unwrap(exc)
    for kind, words in _PIKA_WORDS:
        if isinstance(exc, kind):
            return words
    if isinstance(exc, pika.exceptions.ConnectionClosedByBroker):
        return f"connection closed by broker ({exc.reply_code} {exc.reply_text})"
    if isinstance(exc, (pika.exceptions.ConnectionClosed, pika.exceptions.ChannelClosed)):
        what = "connection" if isinstance(exc, pika.exceptions.ConnectionClosed) else "channel"
        return f"{what} closed ({exc.reply_code} {exc.reply_text})"
    if isinstance(exc, pika.exceptions.StreamLostError):
        inner = exc.args[0] if exc.args else ""
        return f"connection lost ({inner})" if inner else "connection lost"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed ({exc.verify_message or exc})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or exc})"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {str(exc) or repr(exc)}"

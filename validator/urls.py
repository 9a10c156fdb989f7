"""Bus URL helpers: the default URL and password redaction.

Every place that mentions a bus URL in a message, an exception text or a log
line must go through :func:`redact_url`; free text that might embed the
password (for instance a third-party exception message) goes through
:func:`scrub`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

__all__ = ["DEFAULT_URL", "AmqpUrl", "UrlError", "default_url", "parse_amqp_url", "redact_url",
           "checked_url", "scrub", "url_password"]

DEFAULT_URL = "amqp://guest:guest@localhost:5672/%2F"

MASK = "***"

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)(.*)$", re.DOTALL)
# secrets that can ride in the query string, e.g. pika's
# ssl_options={'keyfile': ..., 'password': 'xyz'} or ?password=xyz
_QUERY_SECRET_RES = (
    re.compile(r"""((?:%27|%22|['"])(?:password|passwd|pwd|passphrase)(?:%27|%22|['"])"""
               r"""\s*(?::|%3A)\s*)((?:%27|%22|['"]).*?(?:%27|%22|['"]))""",
               re.IGNORECASE),
    re.compile(r"([?&;](?:password|passwd|pwd|passphrase)=)([^&;#]*)", re.IGNORECASE),
)

# host[:port], then the end or the path, query or fragment: what may follow the '@' that
# ends the user-info.
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]*\]|[^\s/?#@:\[\]]*)(?::([^/?#@]*))?(?=[/?#]|$)")


def default_url() -> str:
    """``$WAZO_BUS_URL`` if set and non-empty, else the local guest URL."""
    return os.environ.get("WAZO_BUS_URL") or DEFAULT_URL


def _split_userinfo(url: str) -> tuple[str, str | None, str] | None:
    """Split *url* into (prefix-up-to-and-including-user, password, rest-after-@).

    Returns None when the URL carries no password.  Deliberately more
    paranoid than :func:`urllib.parse.urlsplit`: a password containing an
    unescaped ``/``, ``?``, ``#`` or ``@`` still counts as a password, so it
    is masked rather than leaked.
    """
    m = _SCHEME_RE.match(url)
    if m:
        scheme, rest = m.group(1), m.group(2)
    else:
        scheme, rest = "", url
    ats = [i for i, ch in enumerate(rest) if ch == "@"]
    if not ats:
        return None
    # The user-info ends at the last '@' followed by a host (what parse_amqp_url reads);
    # failing that, at the last '@': over-masking is harmless, leaking is not.
    at = next((i for i in reversed(ats) if _HOST_PORT.match(rest, i + 1)), ats[-1])
    userinfo = rest[:at]
    if ":" not in userinfo:
        return None
    colon = userinfo.find(":")
    return scheme + userinfo[:colon], userinfo[colon + 1:], rest[at + 1:]


def url_password(url: str) -> str | None:
    """The password embedded in *url* (as written, still percent-encoded), or None."""
    try:
        parts = _split_userinfo(url)
    except Exception:  # pragma: no cover - defensive
        return None
    return None if parts is None else parts[1]


def redact_url(url: str) -> str:
    """Return *url* with its password replaced by ``***``.

    ``amqp://guest:guest@localhost:5672/%2F`` -> ``amqp://guest:***@localhost:5672/%2F``.
    URLs without a password are returned unchanged; password-like values in
    the query string (``password=``, pika's ``ssl_options={'password': ...}``)
    are masked too.  Never raises: non-string or otherwise unusable input
    yields a placeholder.
    """
    if not isinstance(url, str):
        return "<invalid url>"
    try:
        parts = _split_userinfo(url)
        if parts is None:
            out = url
        else:
            prefix, _pw, rest = parts
            out = f"{prefix}:{MASK}@{rest}"
        for rx in _QUERY_SECRET_RES:
            out = rx.sub(lambda mm: mm.group(1) + MASK, out)
        return out
    except Exception:  # pragma: no cover - defensive, regexes do not raise
        return "<unprintable url>"


def scrub(text: str, url: str) -> str:
    """Remove the password of *url* from free *text* (e.g. an exception message).

    Both the raw and the percent-decoded spelling are replaced.  Passwords
    shorter than 3 characters are not searched for (that would mangle the
    text); such a password never appears in messages we build ourselves since
    those only use :func:`redact_url`.
    """
    if not isinstance(text, str):
        text = str(text)
    if isinstance(url, str):
        text = text.replace(url, redact_url(url))
        pw = url_password(url)
        if pw:
            # A parser that splits the URL at an unencoded '/', '?', '#' or '@' of the
            # password quotes a piece of it ("Port could not be cast ... 'S3cret'").
            pieces = {pw, unquote(pw)} | set(re.split(r"[/?#@:]", pw))
            for candidate in sorted(pieces, key=len, reverse=True):
                if len(candidate) >= 3:
                    text = text.replace(candidate, MASK)
    return text


class UrlError(ValueError):
    """A bus URL that cannot be used; its text holds the redacted URL only."""


@dataclass(frozen=True)
class AmqpUrl:
    """A bus URL split by our own parser, so that a password never reaches pika's."""

    scheme: str                 # "amqp" or "amqps"
    username: str | None        # decoded
    password: str | None        # decoded
    host: str                   # as written ("" for pika's default, localhost)
    port: int | None
    path: str                   # "/%2F", "" ... as written
    query: str                  # without the "?"

    @property
    def redacted(self) -> str:
        """The URL for messages: the password is ***, the rest as written."""
        return self._build(MASK if self.password is not None else None, redact=True)

    @property
    def for_pika(self) -> str:
        """The same URL with user and password percent-encoded, which pika parses right."""
        return self._build(self.password, redact=False)

    def _build(self, password, redact: bool) -> str:
        out = f"{self.scheme}://"
        if self.username is not None:
            out += quote(self.username, safe="")
            if password is not None:
                out += ":" + (password if redact else quote(password, safe=""))
            out += "@"
        out += self.host
        if self.port is not None:
            out += f":{self.port}"
        out += self.path
        if self.query:
            query = self.query
            if redact:
                for rx in _QUERY_SECRET_RES:
                    query = rx.sub(lambda m: m.group(1) + MASK, "?" + query)[1:]
            out += "?" + query
        return out


def parse_amqp_url(url: str) -> AmqpUrl:
    """Split a bus URL, taking everything up to the last '@' that is followed by a host as
    the user-info: a password with an unencoded '/', '?', '#' or '@' is read whole instead
    of being cut by a URL parser that then quotes a piece of it. An '@' in the vhost or
    query must be written %40. Raises UrlError whose text holds only the redacted URL."""
    where = redact_url(url) if isinstance(url, str) else "<invalid url>"
    if not isinstance(url, str) or not url.strip():
        raise UrlError("the bus URL is empty")
    m = _SCHEME_RE.match(url.strip())
    if not m or m.group(1)[:-3].lower() not in ("amqp", "amqps"):
        raise UrlError(f"invalid bus URL {where}: not an amqp:// or amqps:// URL")
    scheme, rest = m.group(1)[:-3].lower(), m.group(2)
    userinfo, hostpart = None, None
    for at in reversed([i for i, ch in enumerate(rest) if ch == "@"]):
        if _HOST_PORT.match(rest, at + 1):
            userinfo, hostpart = rest[:at], rest[at + 1:]
            break
    if hostpart is None:
        if "@" in rest:
            raise UrlError(f"invalid bus URL {where}: no host after the user and password")
        hostpart = rest
    hm = _HOST_PORT.match(hostpart)
    if hm is None:
        raise UrlError(f"invalid bus URL {where}: the host is not valid")
    host, port_text = hm.group(1), hm.group(2)
    port = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise UrlError(f"invalid bus URL {where}: the port is not a number from 1 to 65535")
        port = int(port_text)
    tail = hostpart[hm.end():].split("#", 1)[0]
    path, _, query = tail.partition("?")
    username = password = None
    if userinfo is not None:
        user, sep, pw = userinfo.partition(":")
        username, password = unquote(user), (unquote(pw) if sep else None)
    return AmqpUrl(scheme, username, password, host, port, path, query)


def checked_url(url: str) -> str:
    """The URL to hand to pika (user and password encoded), or UrlError."""
    return parse_amqp_url(url).for_pika

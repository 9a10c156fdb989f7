"""Bus URL helpers: the default URL and password redaction.

Every place that mentions a bus URL in a message, an exception text or a log
line must go through :func:`redact_url`; free text that might embed the
password (for instance a third-party exception message) goes through
:func:`scrub`.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

__all__ = ["DEFAULT_URL", "default_url", "redact_url", "scrub", "url_password"]

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


def default_url() -> str:
    """``$WAZO_BUS_URL`` if set and non-empty, else the local guest URL."""
    return os.environ.get("WAZO_BUS_URL") or DEFAULT_URL


def _split_userinfo(url: str) -> tuple[str, str | None, str] | None:
    """Split *url* into (prefix-up-to-and-including-user, password, rest-after-@).

    Returns None when the URL carries no password.  Deliberately more
    paranoid than :func:`urllib.parse.urlsplit`: a password containing an
    unescaped ``/``, ``?`` or ``#`` still counts as a password (the whole
    text up to the last ``@`` is treated as user-info), so it is masked
    rather than leaked.
    """
    m = _SCHEME_RE.match(url)
    if m:
        scheme, rest = m.group(1), m.group(2)
    else:
        scheme, rest = "", url
    if "@" not in rest:
        return None
    end = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if i != -1:
            end = min(end, i)
    authority = rest[:end]
    if "@" in authority:
        at = authority.rfind("@")
    else:
        # '@' only after a '/', '?' or '#': either the password contains one
        # of those characters unescaped, or the '@' belongs to the path/query.
        # Assume the former (over-masking is harmless, leaking is not).
        at = rest.rfind("@")
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
            for candidate in {pw, unquote(pw)}:
                if len(candidate) >= 3:
                    text = text.replace(candidate, MASK)
    return text

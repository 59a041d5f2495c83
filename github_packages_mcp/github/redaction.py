"""Redaction: what the HTTP stack or the other side says, without a credential in it.

`redact` removes the given secrets from a text in every spelling the HTTP stack may give them, and any
`Authorization` value, Bearer or Basic credential, `token=` query value or GitHub-shaped token whoever's it is;
`scrub` does so in place in an exception and every exception chained to it. Error messages (`errors.py`) and
the HTTP stack's log lines (`redact_http_stack_logs`, put on by the client) pass through them.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
from urllib.parse import quote, quote_plus

__all__ = ["REDACTED", "redact", "redact_http_stack_logs", "scrub"]

REDACTED = "[redacted]"
# A header's value after its name, as text (`Authorization: ...`) or as Python shows headers
# (`(b'Authorization', b'...')`, `{'authorization': '...'}`): up to the closing quote or the line's end.
_AUTHORIZATION_VALUE = re.compile(r"""(?i)(\bauthorization['"]?\s*(?:[:=]|,(?=\s*b?['"]))\s*b?['"]?)[^'"\r\n]+""")
# A Bearer or Basic credential (RFC 6750's b64token); one that is letters only is a word ("Basic authentication").
_CREDENTIAL = re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]*[0-9._~+/=-][A-Za-z0-9._~+/=-]*")
# Anything shaped like a GitHub token, whoever's it is (a caller's, in pass-through mode).
_GITHUB_TOKEN = re.compile(r"\b(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{8,}")
# A token in a query string: a restore's package token (`?token=`), which httpx2's own log line of the URL shows.
_TOKEN_PARAMETER = re.compile(r"([?&](?:access_)?token=)[^&#\s'\"]+")
_BASE64_CHARS = "[A-Za-z0-9+/_-]"


def redact(text: str, *secrets: str | None) -> str:
    """`text` with each secret replaced by `[redacted]` in every spelling the HTTP stack may give it, and with any
    `Authorization` value, Bearer or Basic credential, `token=` query value and GitHub-shaped token replaced too.

    A secret's spellings: as is, trimmed, as `repr` shows it (`b'Bearer ghp_...\\r'`), percent-encoded, its
    pieces between characters a header cannot carry, and in base64 (as `registry_get` sends it), also where it
    is part of a longer encoded value.
    """
    for secret in secrets:
        if secret:
            for spelling in sorted(_spellings(secret), key=len, reverse=True):
                text = text.replace(spelling, REDACTED)
            if encoded := _base64_of(secret):
                text = encoded.sub(REDACTED, text)
    text = _AUTHORIZATION_VALUE.sub(rf"\g<1>{REDACTED}", text)
    text = _CREDENTIAL.sub(rf"\g<1>\g<2>{REDACTED}", text)
    text = _TOKEN_PARAMETER.sub(rf"\g<1>{REDACTED}", text)
    return _GITHUB_TOKEN.sub(REDACTED, text)


def scrub(exc: BaseException, *secrets: str | None) -> None:
    """Redact the text arguments of an exception and of every exception it is chained to, in place, so neither
    its message nor a traceback of the chain (`__cause__`, `__context__`) shows a credential."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        redacted = tuple(redact(arg, *secrets) if isinstance(arg, str) else arg for arg in current.args)
        if redacted != current.args:
            with contextlib.suppress(AttributeError, TypeError):  # an exception that fixes its arguments
                current.args = redacted
        pending.extend(linked for linked in (current.__cause__, current.__context__) if linked is not None)


def _spellings(secret: str) -> set[str]:
    raw = secret.encode("utf-8", "surrogatepass")
    spellings = {
        secret,
        secret.strip(),
        repr(secret)[1:-1],
        repr(raw)[2:-1],
        quote(secret, safe=""),
        quote_plus(secret),
        *(piece for piece in re.split(r"[^!-~]+", secret) if len(piece) >= 8),
    }
    return {spelling for spelling in spellings if spelling}


def _base64_of(secret: str) -> re.Pattern[str] | None:
    """Where `secret` is encoded in base64, alone or inside a longer value, standard or URL-safe alphabet; None
    for a secret too short to have a whole 3-byte group.

    Within a longer value the secret starts at one of three offsets within a 3-byte group; from its first group
    boundary on, its whole groups always encode to the same characters. The characters around them (which mix in
    the neighbouring bytes) are taken too.
    """
    raw = secret.encode("utf-8", "surrogatepass")
    cores: set[str] = set()
    for start in range(3):
        whole = raw[start:][: len(raw[start:]) // 3 * 3]
        if whole:
            cores |= {base64.b64encode(whole).decode(), base64.urlsafe_b64encode(whole).decode()}
    if not cores:
        return None
    alternatives = "|".join(re.escape(core) for core in sorted(cores, key=len, reverse=True))
    return re.compile(rf"{_BASE64_CHARS}{{0,3}}(?:{alternatives}){_BASE64_CHARS}{{0,4}}=*")


# The HTTP stack's own loggers. httpcore2's DEBUG trace prints the exception a request failed with, and h11's
# refusal of a header quotes the header's value; `_RedactCredentials` keeps such values out of their lines.
_HTTP_STACK_LOGGERS = (
    "httpx2", "httpcore2.connection", "httpcore2.http11", "httpcore2.http2", "httpcore2.proxy", "httpcore2.socks"
)  # fmt: skip


class _RedactCredentials(logging.Filter):
    """Rewrites a log line of the HTTP stack that holds a credential (`redact`): an `Authorization` value,
    a Bearer or Basic credential, a GitHub-shaped token, a `token=` query value (httpx2 logs each URL at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if (redacted := redact(message)) != message:
            record.msg, record.args = redacted, None
        return True


_REDACT_CREDENTIALS = _RedactCredentials()


def redact_http_stack_logs() -> None:
    """Put `_RedactCredentials` on the HTTP stack's loggers, once (a filter acts on its own logger's records)."""
    for name in _HTTP_STACK_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACT_CREDENTIALS not in logger.filters:
            logger.addFilter(_REDACT_CREDENTIALS)

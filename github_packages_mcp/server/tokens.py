"""Single-use confirmation tokens: the proof, across two calls, that the person agreed to exactly this deletion.

A token is `<expiry>.<nonce>.<mac>`: the HMAC-SHA256, under a secret that never leaves the process (or is derived
from the replicas' shared secret), of the tool name and caller, the canonical JSON of the arguments, the summary
the person approved, the expiry and the nonce.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["ConfirmationTokens", "TokenRejected", "derived_key"]

_DIGITS, _HEX, _BASE64URL = re.compile("[0-9]{1,12}"), re.compile("[0-9a-f]{16}"), re.compile("[A-Za-z0-9_-]{43}")


def derived_key(secret: str, purpose: str) -> bytes:
    """An independent 32-byte key per purpose from one shared secret."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


class TokenRejected(Exception):
    """A confirmation token that does not authorise this call; the message says why."""


class ConfirmationTokens:
    """Issues and redeems single-use tokens bound to one tool, its exact arguments and what they point at.

    A token is `<expiry>.<nonce>.<mac>`: the HMAC-SHA256, under a secret that never leaves the process,
    of the tool name, the canonical JSON of the arguments, the summary the person approved, the expiry and
    the nonce. It cannot be forged, moved to other arguments, used twice or used late, and it stops working
    if the target changes after the person saw it (a new tag, another version count).

    Usage::

        tokens = ConfirmationTokens(ttl_seconds=300)
        token, expires = tokens.issue("delete_org_package", {"org": "acme", ...}, summary)
        tokens.redeem(token, "delete_org_package", {"org": "acme", ...}, summary)   # raises TokenRejected
    """

    def __init__(
        self, ttl_seconds: float, *, secret: bytes | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._ttl = ttl_seconds
        self._secret = secret or secrets.token_bytes(32)
        self._clock = clock
        self._spent: dict[str, float] = {}  # nonce -> expiry, forgotten once expired
        self._lock = threading.Lock()

    def issue(self, tool: str, arguments: Mapping[str, Any], summary: str, caller: str = "") -> tuple[str, datetime]:
        """A token for this call; `caller` identifies who may redeem it (servers serving several people)."""
        expires = int(self._clock() + self._ttl)
        nonce = secrets.token_hex(8)
        token = f"{expires}.{nonce}.{self._mac(f'{tool}@{caller}', arguments, summary, expires, nonce)}"
        return token, datetime.fromtimestamp(expires, UTC)

    def redeem(self, token: str, tool: str, arguments: Mapping[str, Any], summary: str, caller: str = "") -> None:
        """Accept the token once for exactly this tool, these arguments and this (re-read) target summary.

        Raises:
            TokenRejected: If the token is malformed, forged, for another call or a changed target, expired
                or already used.
        """
        expires_text, _, rest = token.partition(".")
        nonce, _, mac = rest.partition(".")
        # Exactly one spelling is accepted: ASCII digits, hex and base64url (`isdigit` alone accepts "١٢٣").
        if not (_DIGITS.fullmatch(expires_text) and _HEX.fullmatch(nonce) and _BASE64URL.fullmatch(mac)):
            raise TokenRejected("the confirmation_token is malformed")
        expires = int(expires_text)
        if not hmac.compare_digest(mac, self._mac(f"{tool}@{caller}", arguments, summary, expires, nonce)):
            raise TokenRejected(
                f"the confirmation_token was not issued for {tool} with exactly these arguments, or the target "
                f"changed since it was shown (it is now: {summary}); call without it to get a new one"
            )
        now = self._clock()
        if now >= expires:
            raise TokenRejected("the confirmation_token has expired; call without it to get a new one")
        with self._lock:
            self._spent = {n: e for n, e in self._spent.items() if e > now}
            if nonce in self._spent:
                raise TokenRejected("the confirmation_token was already used; each token works once")
            self._spent[nonce] = expires

    def _mac(self, tool: str, arguments: Mapping[str, Any], summary: str, expires: int, nonce: str) -> str:
        canonical = json.dumps([tool, dict(arguments), summary, expires, nonce], sort_keys=True, separators=(",", ":"))
        digest = hmac.new(self._secret, canonical.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

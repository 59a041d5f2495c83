"""The server's keys, and single-use confirmation tokens: the proof, across two calls, that the person agreed to
exactly this deletion.

One secret, and a key derived from it per purpose (`ServerKeys`): "plans" signs saved cleanup plans,
"confirmation" confirmation tokens, "request-state" the SDK's request state. The secret is the replicas'
`shared_secret` when set; else 32 random bytes made once in `<journal_dir>/key` (mode 0600), so saved plans and
confirmation tokens still verify after a restart.

A token is `<expiry>.<nonce>.<mac>`: the HMAC-SHA256, under the "confirmation" key, of the tool name and caller,
the canonical JSON of the arguments, the summary the person approved, the expiry and the nonce. Once redeemed, its
nonce is spent in the state's ledger (files under journal_dir, or Redis with `state_url`) with a record signed under
a key derived from that one, and in this process's memory too: a record that is not the server's, or a ledger that
forgot a token this process spent, is logged as someone else writing to it, and the token is refused.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from github_packages_mcp.state.files import private_root
from github_packages_mcp.state.peers import Ledger

__all__ = [
    "KEY_FILE",
    "ConfirmationTokens",
    "LocalLedger",
    "ServerKeys",
    "TokenRejected",
    "derived_key",
]

log = logging.getLogger("github_packages_mcp")

KEY_FILE = "key"  # in the state directory (journal_dir)
KEY_BYTES = 32

_DIGITS, _HEX, _BASE64URL = re.compile("[0-9]{1,12}"), re.compile("[0-9a-f]{16}"), re.compile("[A-Za-z0-9_-]{43}")


def derived_key(secret: str | bytes, purpose: str) -> bytes:
    """An independent 32-byte key per purpose from one secret."""
    material = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(material, purpose.encode(), hashlib.sha256).digest()


class ServerKeys:
    """The server's secret and the keys derived from it, one per purpose.

    The secret is `shared_secret` when given (every replica derives the same keys); else the 32 bytes of
    `<directory>/key`, created on first use with O_EXCL and mode 0600, so two processes starting at once agree on
    one. Nothing touches the disk before a key is needed (listing tools writes nothing). If the file cannot be
    kept, a key for this process alone is used, with a warning: what it signs fails to verify after a restart,
    never the other way round.
    """

    def __init__(self, directory: Path, shared_secret: str | None = None) -> None:
        self._directory = directory
        self._shared_secret = shared_secret
        self._secret: bytes | None = None
        self._lock = threading.Lock()

    def key(self, purpose: str) -> bytes:
        return derived_key(self._shared_secret if self._shared_secret is not None else self._stored(), purpose)

    def source(self, purpose: str) -> Callable[[], bytes]:
        """The key for `purpose`, read when first called."""
        return lambda: self.key(purpose)

    def _stored(self) -> bytes:
        with self._lock:
            if self._secret is None:
                try:
                    self._secret = _kept_secret(self._directory / KEY_FILE)
                except OSError as exc:
                    log.warning(
                        "cannot keep the server key in %s (%s); using a key for this process only: cleanup plans "
                        "and confirmation tokens will not verify after a restart",
                        self._directory / KEY_FILE,
                        exc.strerror or exc,
                    )
                    self._secret = secrets.token_bytes(KEY_BYTES)
            return self._secret


def _kept_secret(path: Path) -> bytes:
    """The secret in `path`, made now if there is none (32 random bytes, mode 0600, O_EXCL: one creator wins).

    Raises:
        OSError: If the file cannot be created or read, or does not hold a key.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_root(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        return _read_secret(path)
    secret = secrets.token_bytes(KEY_BYTES)
    try:
        with os.fdopen(fd, "wb") as created:
            created.write(secret)
            created.flush()
            os.fsync(created.fileno())
    except OSError:
        path.unlink(missing_ok=True)  # never leave a file without a key behind
        raise
    return secret


def _read_secret(path: Path) -> bytes:
    for _ in range(50):  # another process created it an instant ago and is writing its 32 bytes
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as kept:
            if stat.S_IMODE(os.fstat(kept.fileno()).st_mode) & 0o077:
                os.fchmod(kept.fileno(), 0o600)
                log.warning("the server key %s was readable by others; it is now private (0600)", path)
            secret = kept.read(KEY_BYTES + 1)
        if len(secret) == KEY_BYTES:
            return secret
        if secret:
            break
        time.sleep(0.02)
    raise OSError(errno.EINVAL, "the file does not hold a 32-byte key; delete it to make a new one")


class TokenRejected(Exception):
    """A confirmation token that does not authorise this call; the message says why."""


class LocalLedger:
    """Spent tokens in this process's memory, forgotten once expired."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._spent: dict[str, tuple[float, bytes]] = {}  # name -> expiry, record
        self._lock = threading.Lock()

    async def spend_once(self, name: str, expires_at: float, record: bytes) -> bytes | None:
        now = self._clock()
        with self._lock:
            self._spent = {n: spent for n, spent in self._spent.items() if spent[0] > now}
            if name in self._spent:
                return self._spent[name][1]
            self._spent[name] = (expires_at, record)
            return None


class ConfirmationTokens:
    """Issues and redeems single-use tokens bound to one tool, its exact arguments and what they point at.

    A token is `<expiry>.<nonce>.<mac>`: the HMAC-SHA256, under the server's "confirmation" key (`ServerKeys`;
    random for this process when none is given), of the tool name, the canonical JSON of the arguments, the
    summary the person approved, the expiry and the nonce. It cannot be forged, moved to other arguments, used
    twice (the `ledger` remembers it: the state's, or this process's memory when none is given) or used late, and
    it stops working if the target changes after the person saw it (a new tag, another version count).

    Usage::

        tokens = ConfirmationTokens(ttl_seconds=300)
        token, expires = tokens.issue("delete_org_package", {"org": "acme", ...}, summary)
        await tokens.redeem(token, "delete_org_package", {"org": "acme", ...}, summary)   # raises TokenRejected
    """

    def __init__(
        self,
        ttl_seconds: float,
        *,
        secret: bytes | Callable[[], bytes] | None = None,
        clock: Callable[[], float] = time.time,
        ledger: Ledger | None = None,
    ) -> None:
        self._ttl = ttl_seconds
        fixed = secret if isinstance(secret, bytes) else secrets.token_bytes(KEY_BYTES)
        self._secret: Callable[[], bytes] = secret if callable(secret) else lambda: fixed
        self._clock = clock
        self.ledger: Ledger = ledger or LocalLedger(clock)
        # What this process spent, also when the ledger is shared: a shared ledger that forgets one is caught here.
        self._spent_here = self.ledger if isinstance(self.ledger, LocalLedger) else LocalLedger(clock)

    def issue(self, tool: str, arguments: Mapping[str, Any], summary: str, caller: str = "") -> tuple[str, datetime]:
        """A token for this call; `caller` identifies who may redeem it (servers serving several people)."""
        expires = int(self._clock() + self._ttl)
        nonce = secrets.token_hex(8)
        token = f"{expires}.{nonce}.{self._mac(f'{tool}@{caller}', arguments, summary, expires, nonce)}"
        return token, datetime.fromtimestamp(expires, UTC)

    async def redeem(self, token: str, tool: str, arguments: Mapping[str, Any], summary: str, caller: str = "") -> None:
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
        if self._clock() >= expires:
            raise TokenRejected("the confirmation_token has expired; call without it to get a new one")
        await self._spend(nonce, expires)

    async def _spend(self, nonce: str, expires: int) -> None:
        """Spend the token in the ledger, once, with a record signed under the server's key.

        A record that is not the server's, or a shared ledger that forgot a token this process spent, means someone
        wrote to the ledger (docs/security.md, "What Redis is trusted with"): said in the log, and the token is
        refused either way.

        Raises:
            TokenRejected: If the token was already spent (or its ledger entry was tampered with).
        """
        record = self._record(nonce, expires)
        earlier = await self.ledger.spend_once(nonce, expires, record)
        if earlier and not hmac.compare_digest(earlier, record):
            log.warning("the ledger of spent confirmation tokens holds a record this server did not sign: someone "
                        "else writes to it; the token is refused")  # fmt: skip
        here = None if self._spent_here is self.ledger else await self._spent_here.spend_once(nonce, expires, record)
        if earlier is None and here is not None:
            log.error("the shared ledger of spent confirmation tokens had forgotten a token this server spent: "
                      "someone else deletes from it; the token is refused")  # fmt: skip
        if earlier is not None or here is not None:
            raise TokenRejected("the confirmation_token was already used; each token works once")

    def _record(self, nonce: str, expires: int) -> bytes:
        """What the ledger keeps for a spent token: its MAC under the server's key, which Redis never holds."""
        key = derived_key(self._secret(), "ledger")
        return hmac.new(key, f"spent.{nonce}.{expires}".encode(), hashlib.sha256).hexdigest().encode()

    def _mac(self, tool: str, arguments: Mapping[str, Any], summary: str, expires: int, nonce: str) -> str:
        canonical = json.dumps([tool, dict(arguments), summary, expires, nonce], sort_keys=True, separators=(",", ":"))
        digest = hmac.new(self._secret(), canonical.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

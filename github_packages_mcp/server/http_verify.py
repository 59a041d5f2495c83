"""Who a bearer is with `http_auth = "github"`: a token GitHub knows, asked before anything is served.

Each bearer is checked with GitHub (`github/verification.py`: one GET /user on `api_url`) before a session or stream
is opened or any method is served, so a made-up, expired or revoked token gets the 401 `invalid_token` an OAuth client
needs to sign in again, and opens nothing. GitHub's verdicts are kept for `VERDICT_SECONDS` per token fingerprint
(`identity_of`: never the token), accepted and refused ones in bounded maps of their own, so a stream of made-up bearers
can neither grow memory nor push real callers' verdicts out. Requests with the same unchecked token wait for one
question; at most `CONCURRENT_CHECKS` questions are in flight to GitHub, each given `CHECK_TIMEOUT` seconds and one
retry.

When GitHub cannot say (unreachable, 5xx, a rate limit that may be this server's address's), the request is refused
with `CredentialUnchecked`, which `http_auth.py` answers 503, and nothing is kept: the next request asks again. A token
GitHub revokes keeps working here for at most `VERDICT_SECONDS`; GitHub refuses its calls meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from typing import Any, Final

import anyio
import httpx2
from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthenticationError

from github_packages_mcp.config import Settings, secret_problem
from github_packages_mcp.github.cache import LRUMap
from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.github.credentials import identity_of
from github_packages_mcp.github.errors import GitHubError
from github_packages_mcp.github.pacing import Pacer
from github_packages_mcp.github.retry import RetryPolicy
from github_packages_mcp.github.verification import token_is_known

__all__ = ["CONCURRENT_CHECKS", "VERDICT_SECONDS", "CredentialUnchecked", "GitHubTokenVerifier"]

log = logging.getLogger("github_packages_mcp")

VERDICT_SECONDS: Final = 300.0  # how long GitHub's word on a token is taken, accepted or refused
MAX_ACCEPTED: Final = 4096  # tokens whose acceptance is kept (the least recently used is asked again)
MAX_REFUSED: Final = 16384  # tokens whose refusal is kept, apart: made-up ones never push a real one out
CONCURRENT_CHECKS: Final = 8  # questions in flight to GitHub at once
CHECK_TIMEOUT: Final = 10.0  # seconds GitHub has to answer one (at most; the settings' timeouts if shorter)
WARN_EVERY_SECONDS: Final = 60.0

# The token being checked, for the checking client's `token_source` (one question per task).
_checking: ContextVar[str | None] = ContextVar("checking", default=None)


class CredentialUnchecked(AuthenticationError):
    """GitHub could not say whether the bearer is a token it knows; nothing was served."""


class _Question:
    """One question to GitHub about one token, which requests with the same token wait for."""

    def __init__(self) -> None:
        self.answered = anyio.Event()
        self.known: bool | None = None  # None: GitHub could not say


class GitHubTokenVerifier:
    """The SDK's `TokenVerifier` for callers' own GitHub tokens: accepts a token GitHub knows, as the caller whose
    `client_id` is its fingerprint (sessions are bound to it). A bearer that no header to GitHub could carry
    (whitespace, control or non-ASCII characters) is refused without asking.

    Its GitHub client is open while `open()` (or the app's lifespan, through `lifespan`) is.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
        verdict_seconds: float = VERDICT_SECONDS,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._verdict_seconds = verdict_seconds
        self._accepted: LRUMap[str, float] = LRUMap(MAX_ACCEPTED)  # fingerprint -> taken until (clock)
        self._refused: LRUMap[str, float] = LRUMap(MAX_REFUSED)
        self._asking: dict[str, _Question] = {}
        self._github: GitHubClient | None = None
        self._warned_at = -WARN_EVERY_SECONDS

    @asynccontextmanager
    async def open(self) -> AsyncIterator[GitHubTokenVerifier]:
        """The verifier with its GitHub client open, for the block."""
        async with self._client() as github:
            self._github = github
            try:
                yield self
            finally:
                self._github = None

    def lifespan(
        self, inner: Callable[[Any], AbstractAsyncContextManager[Any]]
    ) -> Callable[[Any], AbstractAsyncContextManager[Any]]:
        """The app's lifespan `inner`, with this verifier open while it runs."""

        @asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[Any]:
            async with self.open(), inner(app) as state:
                yield state

        return lifespan

    async def verify_token(self, token: str) -> AccessToken | None:
        """The caller, when GitHub knows the token; None when it does not (the request is answered 401).

        Raises:
            CredentialUnchecked: If GitHub could not say (the request is answered 503).
        """
        if not token or secret_problem(token):
            return None
        fingerprint = identity_of(token)
        known = self._remembered(fingerprint)
        if known is None:
            known = await self._ask(token, fingerprint)
        return AccessToken(token=token, client_id=fingerprint, scopes=[]) if known else None

    def _remembered(self, fingerprint: str) -> bool | None:
        now = self._clock()
        if self._accepted.get(fingerprint, 0.0) > now:
            return True
        if self._refused.get(fingerprint, 0.0) > now:
            return False
        return None

    async def _ask(self, token: str, fingerprint: str) -> bool:
        """GitHub's verdict, asked once for every request that waits for it, and kept.

        Raises:
            CredentialUnchecked: If GitHub could not say.
        """
        question = self._asking.get(fingerprint)
        if question is not None:
            await question.answered.wait()
        else:
            question = self._asking[fingerprint] = _Question()
            try:
                question.known = await self._verdict(token)
            finally:
                del self._asking[fingerprint]
                question.answered.set()
            self._keep(fingerprint, question.known)
        if question.known is None:
            raise CredentialUnchecked(
                "GitHub could not be asked whether this token is valid, so nothing was done; try again in a moment"
            )
        return question.known

    def _keep(self, fingerprint: str, known: bool | None) -> None:
        """Keep GitHub's verdict for `VERDICT_SECONDS`; when it could not say, nothing."""
        until = self._clock() + self._verdict_seconds
        if known is True:
            self._accepted[fingerprint] = until
            self._refused.pop(fingerprint)
        elif known is False:
            self._refused[fingerprint] = until
            self._accepted.pop(fingerprint)

    async def _verdict(self, token: str) -> bool | None:
        """Whether GitHub knows the token; None when it could not say (logged, at most once a minute)."""
        if self._github is None:
            raise RuntimeError("the token verifier is used outside its lifespan")
        checking = _checking.set(token)
        try:
            return await token_is_known(self._github)
        except GitHubError as exc:  # its message never holds the token
            if self._clock() - self._warned_at >= WARN_EVERY_SECONDS:
                self._warned_at = self._clock()
                log.warning("could not ask GitHub whether a caller's token is valid, answering 503: %s", exc)
            return None
        finally:
            _checking.reset(checking)

    def _client(self) -> GitHubClient:
        settings = self._settings
        return GitHubClient(
            base_url=settings.api_url,
            token=None,
            api_version=settings.api_version,
            timeout=httpx2.Timeout(
                min(settings.timeout_seconds, CHECK_TIMEOUT),
                connect=min(settings.connect_timeout_seconds, CHECK_TIMEOUT),
            ),
            pacer=Pacer(CONCURRENT_CHECKS, mutation_interval=0),
            # A rate limit ends the question at once (max_wait=0): `token_is_known` reads it.
            retry=RetryPolicy(
                max_retries=min(settings.max_retries, 1), backoff=settings.retry_backoff_seconds, max_wait=0
            ),
            token_source=_checking.get,
            max_concurrency=CONCURRENT_CHECKS,
        )

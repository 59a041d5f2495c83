"""The one HTTP client every tool shares: GitHub's headers, safe paths, and GitHub's limits respected.

Every request goes through one loop: the process-wide `Pacer` (concurrency, mutation spacing, shared
pause), conditional GETs against the `ETagCache`, retries where they are safe, rate-limit waits up to a
bound, and one log line per attempt. What cannot be fixed by waiting becomes an error from `errors.py`.

Usage::

    async with GitHubClient.from_settings(settings) as github:
        page = await github.get_page(operation("list_org_packages").url_path({"org": "acme"}), {"package_type": "npm"})
"""

from __future__ import annotations

import base64
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from types import TracebackType
from typing import Any, Literal, Self, TypeVar
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx

from github_packages_mcp import __version__
from github_packages_mcp.config import Settings
from github_packages_mcp.github.cache import ETagCache, identity_of
from github_packages_mcp.github.errors import (
    APIError,
    Forbidden,
    GitHubError,
    NotFound,
    RateLimited,
    TransportError,
    Unauthorized,
)
from github_packages_mcp.github.pacing import Pacer

__all__ = [
    "USER_AGENT",
    "GitHubClient",
    "Page",
    "ProgressCallback",
    "QueryValue",
    "Quota",
    "RetryPolicy",
    "gather",
]

USER_AGENT = f"github-packages-mcp/{__version__}"
QueryValue = str | int
ProgressCallback = Callable[[int, int | None], Awaitable[None]]

log = logging.getLogger("github_packages_mcp.http")
T = TypeVar("T")

_STATUS_ERRORS: dict[int, type[APIError]] = {401: Unauthorized, 403: Forbidden, 404: NotFound}
# Failures after which the request surely never reached GitHub, so even a restore may be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again, and how long a rate limit may be waited out before giving up.

    Usage: `RetryPolicy(max_retries=3, backoff=0.5)`: waits about 0.5 s, 1 s, 2 s between attempts.
    """

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_wait: float = 60.0
    # GitHub: after a secondary limit that names no wait, wait at least a minute, then back off.
    secondary_wait: float = 60.0

    def backoff_for(self, retry: int) -> float:
        """Exponential backoff with up to 25 % jitter, so parallel retries do not arrive together."""
        return float(min(self.max_backoff, self.backoff * 2**retry)) * (1 + random.random() / 4)  # noqa: S311


@dataclass
class Quota:
    """The primary rate limit as GitHub last reported it (`x-ratelimit-*` headers)."""

    limit: int | None = None
    remaining: int | None = None
    used: int | None = None
    reset_at: datetime | None = None
    resource: str | None = None

    def update(self, headers: httpx.Headers) -> None:
        if (remaining := headers.get("x-ratelimit-remaining")) is None:
            return
        self.remaining = int(remaining)
        self.limit = _int_or_none(headers.get("x-ratelimit-limit"))
        self.used = _int_or_none(headers.get("x-ratelimit-used"))
        reset = _int_or_none(headers.get("x-ratelimit-reset"))
        self.reset_at = datetime.fromtimestamp(reset, UTC) if reset is not None else None
        self.resource = headers.get("x-ratelimit-resource")


@dataclass(frozen=True)
class Page:
    """One page of a GitHub listing, with what its `Link` header says about the others."""

    items: list[Any]
    page: int
    per_page: int
    next_page: int | None
    last_page: int | None

    @property
    def paging(self) -> dict[str, Any]:
        """Where this page stands, without its items."""
        return {"page": self.page, "per_page": self.per_page, "next_page": self.next_page, "last_page": self.last_page}


@dataclass(frozen=True)
class _Limit:
    kind: Literal["primary", "secondary"]
    wait: float
    reset_at: datetime


class GitHubClient:
    """An `httpx.AsyncClient` configured for GitHub's REST API, opened once and shared by every tool."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None,
        api_version: str,
        timeout: httpx.Timeout,
        pacer: Pacer | None = None,
        retry: RetryPolicy | None = None,
        cache: ETagCache | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        token_source: Callable[[], str | None] | None = None,
    ) -> None:
        """`token_source`, when given, names the token of each request instead of `token` (a server that
        passes its callers' own GitHub tokens through); caches and quotas are then kept per token."""
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": api_version,
            "User-Agent": USER_AGENT,
        }
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport, follow_redirects=False
        )
        self._token_source = token_source or (lambda: token)
        self.pacer = pacer or Pacer(max_concurrency=4, mutation_interval=1.0)
        self.retry = retry or RetryPolicy()
        self.cache = cache
        self._quotas: dict[str, Quota] = {}

    @property
    def token(self) -> str | None:
        """The token this request acts with (never to be shown: use `identity_of` for logs and keys)."""
        return self._token_source()

    @property
    def quota(self) -> Quota:
        """The primary rate limit of the current token, as GitHub last reported it."""
        return self._quotas.setdefault(identity_of(self.token), Quota())

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        transport: httpx.AsyncBaseTransport | None = None,
        token_source: Callable[[], str | None] | None = None,
    ) -> GitHubClient:
        """Build the client from validated settings; without a token GitHub will answer 401."""
        return cls(
            base_url=settings.api_url,
            token=settings.token.get_secret_value() if settings.token else None,
            api_version=settings.api_version,
            timeout=httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds),
            pacer=Pacer(settings.max_concurrency, settings.mutation_interval_seconds),
            retry=RetryPolicy(
                max_retries=settings.max_retries,
                backoff=settings.retry_backoff_seconds,
                max_wait=settings.max_rate_limit_wait_seconds,
            ),
            cache=ETagCache(settings.cache_max_entries) if settings.cache_max_entries else None,
            transport=transport,
            token_source=token_source,
        )

    async def __aenter__(self) -> Self:
        await self._http.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._http.__aexit__(exc_type, exc, tb)

    async def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, QueryValue] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request, retrying and waiting where that is safe; return a response below 400.

        GETs are retried after 5xx answers, timeouts and broken connections; DELETEs too, and a DELETE that
        answers 404 after a failed attempt counts as done (the failed attempt went through). A restore is
        sent again only when the earlier attempt surely never reached GitHub. Rate limits are waited out
        when the wait is at most `RetryPolicy.max_wait`.

        Raises:
            TransportError: If the request did not complete.
            RateLimited: If a rate limit would take longer than `max_wait` to lift.
            APIError: If GitHub answered with an error status (a subclass where one fits).
        """
        params = dict(query or {})
        retries, maybe_done = 0, False
        while True:
            self._check_known_quota(method, path)
            token = self.token
            request = self._http.build_request(method, path, params=params, headers=_auth(token) | dict(headers or {}))
            identity = identity_of(token)
            cached = self.cache.get(identity, str(request.url)) if self.cache is not None and method == "GET" else None
            if cached is not None:
                request.headers["If-None-Match"] = cached.etag
            started = time.monotonic()
            try:
                async with self.pacer.slot(mutating=method != "GET"):
                    response = await self._http.send(request)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                arrived = not isinstance(exc, _NOT_SENT)
                self._log(method, path, params, f"error={type(exc).__name__}", started, retries)
                if retries < self.retry.max_retries and (method != "POST" or not arrived):
                    maybe_done = maybe_done or arrived
                    await anyio.sleep(self.retry.backoff_for(retries))
                    retries += 1
                    continue
                raise _transport_error(exc, method, path, arrived) from exc

            self.quota.update(response.headers)
            status = response.status_code
            self._log(method, path, params, f"status={status}", started, retries)
            if status == 304 and cached is not None:
                return httpx.Response(
                    200, headers=cached.headers, content=cached.content, request=response.request,
                    extensions={"from_cache": True},
                )  # fmt: skip
            if limit := self._rate_limit(response, retries):
                if limit.wait > self.retry.max_wait or retries >= self.retry.max_retries:
                    raise _rate_limited(response, method, path, limit)
                self.pacer.pause_until(time.monotonic() + limit.wait)
                retries += 1
                continue
            if status >= 500 and method != "POST" and retries < self.retry.max_retries:
                maybe_done = True
                await anyio.sleep(self.retry.backoff_for(retries))
                retries += 1
                continue
            if status == 404 and method == "DELETE" and maybe_done:
                log.info("%s %s answered 404 after a failed attempt: the earlier attempt deleted it", method, path)
                return response
            if status >= 400:
                raise _api_error(response, method, path)
            if self.cache is not None and method == "GET":
                self.cache.put(identity, response)
            return response

    async def registry_get(self, url: str, accept: str) -> httpx.Response:
        """GET from the container registry (an absolute URL) with the same token, paced and retried like the API.

        ghcr.io takes the token as a bearer credential in base64, as `docker login` would send it.
        """
        registry_auth = f"Bearer {base64.b64encode((self.token or '').encode()).decode()}"
        return await self.request("GET", url, headers={"Accept": accept, "Authorization": registry_auth})

    async def get_json(self, path: str, query: Mapping[str, QueryValue] | None = None) -> Any:
        """GET a path and decode its JSON body."""
        return (await self.request("GET", path, query)).json()

    async def get_page(self, path: str, query: Mapping[str, QueryValue]) -> Page:
        """GET one page of a listing; `query` carries `page` and `per_page` when the caller chose them."""
        response = await self.request("GET", path, query)
        return Page(
            items=response.json(),
            page=int(query.get("page", 1)),
            per_page=int(query.get("per_page", 30)),
            next_page=_linked_page(response, "next"),
            last_page=_linked_page(response, "last"),
        )

    async def get_all_pages(
        self,
        path: str,
        query: Mapping[str, QueryValue],
        *,
        per_page: int = 100,
        progress: ProgressCallback | None = None,
    ) -> Page:
        """Every page of a listing, in order, as one page.

        Page 1 tells the last page (`Link: rel="last"`); the rest are then fetched concurrently within the
        pacer's limit. Without `last`, `next` links are followed one by one. An item that moved between
        pages while they were read (GitHub pages by offset) appears once.

        Raises:
            GitHubError: If any page fails; no partial listing is returned.
        """
        query = {**query, "per_page": per_page}
        first = await self.get_page(path, {**query, "page": 1})
        pages: list[list[Any]] = [first.items]
        done = 1
        if progress:
            await progress(done, first.last_page or None)
        if first.last_page:
            rest: list[list[Any]] = [[] for _ in range(first.last_page - 1)]

            async def fetch(number: int) -> None:
                nonlocal done
                rest[number - 2] = (await self.get_page(path, {**query, "page": number})).items
                done += 1
                if progress:
                    await progress(done, first.last_page)

            await _run_all([partial(fetch, number) for number in range(2, first.last_page + 1)])
            pages += rest
        else:
            page = first
            while page.next_page:
                page = await self.get_page(path, {**query, "page": page.next_page})
                pages.append(page.items)
                done += 1
                if progress:
                    await progress(done, None)
        items = _unique([item for page_items in pages for item in page_items])
        return Page(items=items, page=1, per_page=per_page, next_page=None, last_page=done)

    def _check_known_quota(self, method: str, path: str) -> None:
        """Fail fast, without sending, while the primary quota is known to be spent for longer than max_wait.

        GitHub may ban integrations that keep calling while rate limited.
        """
        reset_at, now = self.quota.reset_at, datetime.now(UTC)
        if self.quota.remaining != 0 or reset_at is None or reset_at <= now:
            return
        wait = (reset_at - now).total_seconds()
        if wait > self.retry.max_wait:
            raise RateLimited(
                "the primary rate limit is spent", method=method, path=path, status=403, limit="primary",
                reset_at=reset_at,
            )  # fmt: skip
        self.pacer.pause_until(time.monotonic() + wait)

    def _rate_limit(self, response: httpx.Response, retries: int) -> _Limit | None:
        """Which limit a 403/429 comes from and how long to wait, or None when it is not a rate limit."""
        if response.status_code not in (403, 429):
            return None
        headers, now = response.headers, datetime.now(UTC)
        retry_after = _int_or_none(headers.get("retry-after"))
        if headers.get("x-ratelimit-remaining") == "0" and retry_after is None:
            reset = _int_or_none(headers.get("x-ratelimit-reset"))
            reset_at = datetime.fromtimestamp(reset, UTC) if reset is not None else now + timedelta(hours=1)
            return _Limit("primary", max(0.0, (reset_at - now).total_seconds()) + 1, reset_at)
        if retry_after is not None:
            wait = float(retry_after)
        elif response.status_code == 429 or "rate limit" in _message(response).lower():
            # At least a minute, as GitHub asks; later waits double, with jitter so they spread out.
            wait = self.retry.secondary_wait * 2**retries * (1 + random.random() / 10 if retries else 1)  # noqa: S311
        else:
            return None
        return _Limit("secondary", wait, now + timedelta(seconds=wait))

    def _log(
        self, method: str, path: str, params: Mapping[str, QueryValue], outcome: str, started: float, retries: int
    ) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        # Never the package token a restore may carry in its query string.
        query = "&".join(f"{key}={value}" for key, value in params.items() if key != "token")
        remaining = self.quota.remaining if self.quota.remaining is not None else "-"
        log.info(
            "method=%s path=%s query=%s %s duration_ms=%d retries=%d remaining=%s",
            method, path, query or "-", outcome, (time.monotonic() - started) * 1000, retries, remaining,
        )  # fmt: skip


async def gather(jobs: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run jobs concurrently (the pacer bounds the requests) and return their results in order.

    If one fails, the rest are cancelled and its `GitHubError` is raised as is, not inside an exception group.
    """
    results: list[T | None] = [None] * len(jobs)

    async def run(index: int) -> None:
        results[index] = await jobs[index]()

    await _run_all([partial(run, index) for index in range(len(jobs))])
    return results  # type: ignore[return-value]  # every slot is filled once the group has finished


async def _run_all(jobs: list[Callable[[], Coroutine[Any, Any, None]]]) -> None:
    """Run jobs concurrently; if one fails, cancel the rest and raise its error (not an exception group)."""
    try:
        async with anyio.create_task_group() as group:
            for job in jobs:
                group.start_soon(job)
    except BaseExceptionGroup as group_error:
        errors = group_error.subgroup(GitHubError)
        if errors is None:
            raise
        first = errors.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


def _unique(items: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    unique = []
    for item in items:
        key = item.get("id") if isinstance(item, dict) else None
        if key is None or key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


def _error_body(response: httpx.Response) -> dict[str, Any]:
    """GitHub's error object (`message`, `documentation_url`), or {} when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _message(response: httpx.Response, body: dict[str, Any] | None = None) -> str:
    message = (body if body is not None else _error_body(response)).get("message")
    return str(message or response.reason_phrase or "error")


def _linked_page(response: httpx.Response, rel: str) -> int | None:
    link = response.links.get(rel)
    if not link:
        return None
    pages = parse_qs(urlsplit(link["url"]).query).get("page")
    return int(pages[0]) if pages and pages[0].isdigit() else None


def _transport_error(exc: Exception, method: str, path: str, arrived: bool) -> TransportError:
    if isinstance(exc, httpx.TimeoutException):
        message = f"GitHub did not answer in time ({type(exc).__name__})"
    else:
        message = f"could not reach GitHub: {exc or type(exc).__name__}"
    return TransportError(message, method=method, path=path, may_have_arrived=arrived)


def _rate_limited(response: httpx.Response, method: str, path: str, limit: _Limit) -> RateLimited:
    return RateLimited(
        _message(response), method=method, path=path, status=response.status_code, limit=limit.kind,
        reset_at=limit.reset_at,
    )  # fmt: skip


def _api_error(response: httpx.Response, method: str, path: str) -> APIError:
    body = _error_body(response)
    return _STATUS_ERRORS.get(response.status_code, APIError)(
        _message(response, body),
        method=method,
        path=path,
        status=response.status_code,
        documentation_url=body.get("documentation_url"),
        accepted_scopes=response.headers.get("x-accepted-oauth-scopes"),
        token_scopes=response.headers.get("x-oauth-scopes"),
    )

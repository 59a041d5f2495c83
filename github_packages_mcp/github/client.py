"""The one HTTP client every tool shares: GitHub's headers, safe paths, and GitHub's limits respected.

Every request goes through one loop: the process-wide `Pacer` (concurrency, mutation spacing, a pause per
token), conditional GETs against the `ETagCache`, retries where they are safe, rate-limit waits up to a
bound, and one log line per attempt. Whether to retry, wait or stop is decided by `retry.py`; the loop only
carries it out. What cannot be fixed by waiting becomes an error from `errors.py`; so does every 3xx (redirects
are never followed, and never count as done). Listings are read page by page as `paging.py` reads each page:
concurrently when GitHub's `Link` header names the last page, else one by one, never taking a full page for
the end.

Usage::

    async with GitHubClient.from_settings(settings) as github:
        page = await github.get_page(operation("list_org_packages").url_path({"org": "acme"}), {"package_type": "npm"})
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import httpx2

from github_packages_mcp import __version__
from github_packages_mcp.config import Settings, secret_problem
from github_packages_mcp.errors import InvalidRequest
from github_packages_mcp.github.cache import CachedResponse, ETagCache, LRUMap
from github_packages_mcp.github.catalogue import operation_at
from github_packages_mcp.github.credentials import identity_of, token_kind
from github_packages_mcp.github.errors import (
    IncompleteListing,
    UnusableToken,
    error_from_response,
    quota_spent,
    rate_limited,
    redirected,
    transport_error,
)
from github_packages_mcp.github.pacing import UNSHARED, Pacer, SharedPacing, Turn
from github_packages_mcp.github.paging import Page, ProgressCallback, QueryValue, item_ids, read_page, unique_items
from github_packages_mcp.github.pools import connection_pools
from github_packages_mcp.github.redaction import redact_http_stack_logs
from github_packages_mcp.github.retry import Decision, Pause, Quota, RetryPolicy, Stop
from github_packages_mcp.github.tasks import run_all

__all__ = [
    "USER_AGENT",
    "GitHubClient",
    "Page",
    "ProgressCallback",
    "QueryValue",
    "Quota",
    "Turn",
]

USER_AGENT = f"github-packages-mcp/{__version__}"

log = logging.getLogger("github_packages_mcp.http")
T = TypeVar("T")
# Listings without a result window (a package's versions) are read up to this many results, and no further
# (assumed bound: docs/github-behaviour.md#paging-limits); a longer one is refused, never returned in part.
MAX_LISTED = 100_000
_BATCH = 32  # pages fetched per batch of concurrent tasks


class GitHubClient:
    """An `httpx2.AsyncClient` configured for GitHub's REST API, opened once and shared by every tool."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None,
        api_version: str,
        timeout: httpx2.Timeout,
        pacer: Pacer | None = None,
        retry: RetryPolicy | None = None,
        cache: ETagCache | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        token_source: Callable[[], str | None] | None = None,
        max_concurrency: int = 4,
    ) -> None:
        """`token_source`, when given, names the token of each request instead of `token` (a server that
        passes its callers' own GitHub tokens through); caches and quotas are then kept per token.
        `max_concurrency` is the pacer's limit of requests in flight, for which connections are kept (`pools.py`)."""
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": api_version,
            "User-Agent": USER_AGENT,
        }
        self._http = httpx2.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            transport=transport or connection_pools(max_concurrency),
            follow_redirects=False,
        )
        self._token_source = token_source or (lambda: token)
        redact_http_stack_logs()
        self.pacer = pacer or Pacer(max_concurrency, mutation_interval=1.0)
        self.retry = retry or RetryPolicy()
        self.cache = cache
        self._quotas: LRUMap[str, Quota] = LRUMap()  # per token identity, the most recently used ones

    @property
    def token(self) -> str | None:
        """The token this request acts with (never to be shown: use `identity_of` for logs and keys)."""
        return self._token_source()

    @property
    def identity(self) -> str:
        """Who the current token is (`identity_of`): its quotas', pauses' and callers' key."""
        return identity_of(self.token)

    @property
    def quota(self) -> Quota:
        """The primary rate limit of the current token, as GitHub last reported it."""
        return self._quotas.setdefault(self.identity, Quota)

    @property
    def known_identities(self) -> int:
        """How many tokens' quotas are kept (bounded by `cache.MAX_IDENTITIES`)."""
        return len(self._quotas)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        transport: httpx2.AsyncBaseTransport | None = None,
        token_source: Callable[[], str | None] | None = None,
        shared_pacing: SharedPacing = UNSHARED,
    ) -> GitHubClient:
        """Build the client from validated settings; without a token GitHub will answer 401. `shared_pacing` is
        the pacing replicas share (state_url)."""
        return cls(
            base_url=settings.api_url,
            token=settings.token.get_secret_value() if settings.token else None,
            api_version=settings.api_version,
            timeout=httpx2.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds),
            pacer=Pacer(settings.max_concurrency, settings.mutation_interval_seconds, shared=shared_pacing),
            retry=RetryPolicy(
                max_retries=settings.max_retries,
                backoff=settings.retry_backoff_seconds,
                max_wait=settings.max_rate_limit_wait_seconds,
            ),
            cache=ETagCache(settings.cache_max_entries) if settings.cache_max_entries else None,
            transport=transport,
            token_source=token_source,
            max_concurrency=settings.max_concurrency,
        )

    async def __aenter__(self) -> Self:
        await self._http.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._http.__aexit__(exc_type, exc, tb)

    @asynccontextmanager
    async def turn(self, method: str) -> AsyncIterator[Turn]:
        """Wait for the next `method` request of this token to be allowed to go (the token's pause, a slot and, for
        a mutation, its place in the spacing), and hold that for the block: `request(..., turn=turn)` then goes at
        once. The wait may be cancelled (nothing is sent); the block's first request should be the turn's, as the
        turn holds a slot until it is used or the block ends. See `pacing.Pacer.turn`.
        """
        identity = self.identity
        # A spent quota is waited out here, where a cancel may stop it; one too long to wait is for the request to say.
        if isinstance(decision := self.retry.before_sending(self.quota, datetime.now(UTC)), Pause):
            await self.pacer.pause_until(time.monotonic() + decision.limit.wait, identity)
        async with self.pacer.turn(mutating=method != "GET", identity=identity) as held:
            yield held

    async def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, QueryValue] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        turn: Turn | None = None,
    ) -> httpx2.Response:
        """Send one request to GitHub's API, retrying and waiting where that is safe; return a response below 400.

        `path` is an API path from the catalogue: an absolute URL or a dot segment is refused outright, so no
        request can leave the API's host or climb out of the path it names. With a `turn` (see `turn`), its first
        attempt goes without waiting for the pacer again.

        Raises:
            InvalidRequest: If `path` is not a plain API path (nothing is sent).
            TransportError: If the request did not complete.
            RateLimited: If a rate limit would take longer than `max_wait` to lift.
            APIError: If GitHub answered with an error status (a subclass where one fits).
        """
        _check_api_path(path)
        return await self._exchange(method, path, query, headers, turn)

    async def _exchange(
        self,
        method: str,
        path: str,
        query: Mapping[str, QueryValue] | None = None,
        headers: Mapping[str, str] | None = None,
        turn: Turn | None = None,
    ) -> httpx2.Response:
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
        retries, earlier_arrived = 0, False
        while True:
            await self._wait_out_known_quota(method, path)
            request, identity, cached = self._build(method, path, params, headers)
            started = time.monotonic()
            try:
                async with self.pacer.slot(mutating=method != "GET", identity=identity, turn=turn):
                    response = await self._http.send(request)
            except (httpx2.TimeoutException, httpx2.TransportError) as exc:
                self._log(method, path, params, f"error={type(exc).__name__}", started, retries)
                decision: Decision = self.retry.after_failure(exc, method, retries)
                if isinstance(decision, Stop):
                    raise transport_error(exc, method, path, self.token) from exc
            else:
                self.quota.update(response.headers)
                self._log(method, path, params, f"status={response.status_code}", started, retries)
                if response.status_code == 304 and cached is not None:
                    return _from_cache(cached, response)
                now = datetime.now(UTC)
                decision = self.retry.after_response(response, method, retries, now, earlier_arrived=earlier_arrived)
                if isinstance(decision, Stop):
                    return self._settle(response, decision, method, path, identity)
            if isinstance(decision, Pause):  # this token's requests wait; other tokens' do not
                await self.pacer.pause_until(time.monotonic() + decision.limit.wait, identity)
            else:
                earlier_arrived = earlier_arrived or decision.arrived
                await anyio.sleep(decision.wait)
            retries += 1

    async def registry_get(self, url: str, accept: str) -> httpx2.Response:
        """GET from the container registry (an absolute URL) with the same token, paced and retried like the API.

        ghcr.io takes the token as a bearer credential in base64, as `docker login` would send it.
        """
        registry_auth = f"Bearer {base64.b64encode((self.token or '').encode()).decode()}"
        return await self._exchange("GET", url, headers={"Accept": accept, "Authorization": registry_auth})

    async def get_json(self, path: str, query: Mapping[str, QueryValue] | None = None) -> Any:
        """GET a path and decode its JSON body."""
        return (await self.request("GET", path, query)).json()

    async def get_page(self, path: str, query: Mapping[str, QueryValue]) -> Page:
        """GET one page of a listing; `query` carries `page` and `per_page` when the caller chose them.

        Without a `Link` header, a full page reports the following page as next (`paging.read_page`).
        """
        response = await self.request("GET", path, query)
        return read_page(response, int(query.get("page", 1)), int(query.get("per_page", 30)))

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
        pacer's limit. Without `last`, pages are read one by one: by the `next` links, or, when GitHub sent no
        `Link` header, for as long as pages come back full. An item that moved between pages while they were
        read (GitHub pages by offset) appears once.

        Raises:
            IncompleteListing: If the listing cannot be read whole: its result window (list-packages serves
                10,000 results) is full with more possibly following, or a page without a `Link` header
                repeats only items already read. A listing is never reported whole when it may not be.
            GitHubError: If any page fails; no partial listing is returned.
        """
        query = {**query, "per_page": per_page}
        first = await self.get_page(path, {**query, "page": 1})
        if progress:
            await progress(1, first.last_page or None)
        if first.last_page:
            pages = await self._read_linked_pages(path, query, first, progress)
        else:
            pages = await self._read_one_by_one(path, query, first, progress)
        items = unique_items([item for page_items in pages for item in page_items])
        return Page(items=items, page=1, per_page=per_page, next_page=None, last_page=len(pages))

    async def _read_linked_pages(
        self, path: str, query: Mapping[str, QueryValue], first: Page, progress: ProgressCallback | None
    ) -> list[list[Any]]:
        """Every page's items, pages 2 to the last one `Link` names fetched concurrently, a batch at a time.

        Raises:
            IncompleteListing: If `Link` names a last page beyond what GitHub can serve.
        """
        last = first.last_page or 1
        listing = operation_at("GET", path)
        limit = (listing.result_window if listing is not None else None) or MAX_LISTED
        if (last - 1) * first.per_page >= limit:  # a broken or hostile answer: never plan more pages than exist
            raise IncompleteListing(
                f"the listing claims {last} pages of {first.per_page}, more than the {limit} results GitHub serves",
                method="GET", path=path,
            )  # fmt: skip
        rest: list[list[Any]] = [[] for _ in range(last - 1)]
        done = 1

        async def fetch(number: int) -> None:
            nonlocal done
            rest[number - 2] = (await self.get_page(path, {**query, "page": number})).items
            done += 1
            if progress:
                await progress(done, last)

        # Batches keep the tasks in memory bounded; the pacer bounds the requests in flight.
        for start in range(2, last + 1, _BATCH):
            await run_all([partial(fetch, number) for number in range(start, min(start + _BATCH, last + 1))])
        return [first.items, *rest]

    async def _read_one_by_one(
        self, path: str, query: Mapping[str, QueryValue], first: Page, progress: ProgressCallback | None
    ) -> list[list[Any]]:
        """Every page's items, read one at a time while a page names (or, without `Link`, implies) a next one.

        Raises:
            IncompleteListing: If the listing's result window is full, or a page repeats what was read.
        """
        listing = operation_at("GET", path)
        window = (listing.result_window if listing is not None else None) or MAX_LISTED
        pages, seen, page = [first.items], item_ids(first.items), first
        while page.next_page:
            if page.next_page * page.per_page > window:
                raise IncompleteListing(
                    f"at most {window} results of this listing can be read; {page.page * page.per_page} were "
                    "read and more may follow, so it cannot be read whole (nothing partial is returned)",
                    method="GET", path=path,
                )  # fmt: skip
            page = await self.get_page(path, {**query, "page": page.next_page})
            ids = item_ids(page.items)
            if not page.linked and page.items and len(ids) == len(page.items) and ids <= seen:
                raise IncompleteListing(
                    f"GitHub answered page {page.page} with items already read and no Link header, so the "
                    "listing's end cannot be told (nothing partial is returned)",
                    method="GET", path=path,
                )  # fmt: skip
            seen |= ids
            pages.append(page.items)
            if progress:
                await progress(len(pages), None)
        return pages

    async def _wait_out_known_quota(self, method: str, path: str) -> None:
        """Pause while the primary quota is known to be spent; fail fast, sending nothing, if that is too long.

        GitHub may ban integrations that keep calling while rate limited.

        Raises:
            RateLimited: If the quota resets later than `RetryPolicy.max_wait` from now.
        """
        decision = self.retry.before_sending(self.quota, datetime.now(UTC))
        if isinstance(decision, Stop) and decision.limit is not None:
            raise quota_spent(method, path, decision.limit.reset_at)
        if isinstance(decision, Pause):
            await self.pacer.pause_until(time.monotonic() + decision.limit.wait, self.identity)

    def _build(
        self, method: str, path: str, params: Mapping[str, QueryValue], headers: Mapping[str, str] | None
    ) -> tuple[httpx2.Request, str, CachedResponse | None]:
        """The request with this attempt's token, conditional on the cached answer of a GET when there is one.

        The token is read per attempt: with a `token_source` each request acts with its caller's token.

        Raises:
            UnusableToken: If the token holds characters a header cannot carry (httpx2 would echo it refusing them).
        """
        token = self.token
        if token and (problem := secret_problem(token)):
            raise UnusableToken(problem)
        # The query goes into the URL as httpx2 encodes it: given apart, httpx2 parses the whole URL again to add it.
        url, query = (f"{path}?{_query_string(params)}", None) if params and "?" not in path else (path, params)
        request = self._http.build_request(method, url, params=query, headers=_auth(token) | dict(headers or {}))
        identity = identity_of(token)
        cached = self.cache.get(identity, str(request.url)) if self.cache is not None and method == "GET" else None
        if cached is not None:
            request.headers["If-None-Match"] = cached.etag
        return request, identity, cached

    def _settle(
        self, response: httpx2.Response, decision: Stop, method: str, path: str, identity: str
    ) -> httpx2.Response:
        """The answer a request ends with: returned (and cached) when it is one, else raised as its error.

        Raises:
            RateLimited: If the answer is a rate limit too long to wait out.
            Redirected: If GitHub answered 3xx (a 304 to a conditional GET never reaches here).
            APIError: If GitHub answered with an error status (a subclass where one fits).
        """
        if decision.limit is not None:
            raise rate_limited(response, method, path, decision.limit.kind, decision.limit.reset_at)
        if decision.done:
            log.info("%s %s answered 404 after a failed attempt: the earlier attempt deleted it", method, path)
            return response
        if 300 <= response.status_code < 400:  # never followed: the token stays here, nothing counts as done
            raise redirected(response, method, path)
        if response.status_code >= 400:
            token = self.token
            raise error_from_response(response, method, path, token_kind=token_kind(token), token=token)
        if self.cache is not None and method == "GET":
            self.cache.put(identity, response)
        return response

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


def _check_api_path(path: str) -> None:
    """Refuse anything but a plain API path: an absolute URL would send the token to another host, and a `.` or
    `..` segment would name another resource than the one confirmed.

    Raises:
        InvalidRequest: If `path` is not a plain API path.
    """
    segments = path.split("?", 1)[0].split("/")
    if not path.startswith("/") or path.startswith("//") or "\\" in path or {".", ".."} & set(segments):
        raise InvalidRequest(
            "Nothing was sent: a request path must be an API path from the catalogue, not a URL or dot segments"
        )


_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*")  # what a query value is, unencoded, in both httpx2's encoding and GitHub's


def _query_string(params: Mapping[str, QueryValue]) -> str:
    """`params` as httpx2 would encode them. The values a tool sends are nearly always numbers and plain words
    (page=2, state=active), which are written as they are; httpx2's encoder, for anything else, cost more than the
    rest of building the request."""
    if all(type(value) is int or (isinstance(value, str) and _PLAIN.fullmatch(value)) for value in params.values()):
        return "&".join(f"{name}={value}" for name, value in params.items())
    return str(httpx2.QueryParams(params))


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _from_cache(cached: CachedResponse, response: httpx2.Response) -> httpx2.Response:
    """GitHub's 304 answered from the cache: the kept answer, marked `from_cache`, for the request just sent."""
    return httpx2.Response(
        200, headers=cached.headers, content=cached.content, request=response.request,
        extensions={"from_cache": True},
    )  # fmt: skip

"""The one HTTP client every tool shares: GitHub's headers, safe paths, and errors mapped to `errors.py`.

Usage::

    async with GitHubClient.from_settings(settings) as github:
        page = await github.get_page(expand_path("/orgs/{org}/packages", {"org": "acme"}), {"package_type": "npm"})
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from github_packages_mcp import __version__
from github_packages_mcp.config import Settings
from github_packages_mcp.errors import APIError, Forbidden, NotFound, RateLimited, TransportError, Unauthorized

__all__ = ["USER_AGENT", "GitHubClient", "Page", "QueryValue", "encode_segment", "expand_path"]

USER_AGENT = f"github-packages-mcp/{__version__}"
QueryValue = str | int

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_STATUS_ERRORS: dict[int, type[APIError]] = {401: Unauthorized, 403: Forbidden, 404: NotFound}


def encode_segment(value: str) -> str:
    """Percent-encode one path segment exactly once: `web/api` -> `web%2Fapi`.

    `.` and `..` are encoded too, so no value can climb out of its segment once a URL library
    normalises the path.
    """
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def expand_path(template: str, values: Mapping[str, QueryValue]) -> str:
    """Fill `{name}` placeholders of a path template, each value encoded as one segment."""
    return _PLACEHOLDER.sub(lambda match: encode_segment(str(values[match.group(1)])), template)


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


class GitHubClient:
    """An `httpx.AsyncClient` configured for GitHub's REST API, opened once and shared by every tool."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None,
        api_version: str,
        timeout: httpx.Timeout,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": api_version,
            "User-Agent": USER_AGENT,
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> GitHubClient:
        """Build the client from validated settings; without a token GitHub will answer 401."""
        return cls(
            base_url=settings.api_url,
            token=settings.token.get_secret_value() if settings.token else None,
            api_version=settings.api_version,
            timeout=httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds),
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        await self._http.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._http.__aexit__(exc_type, exc, tb)

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    async def request(self, method: str, path: str, query: Mapping[str, QueryValue] | None = None) -> httpx.Response:
        """Send one request; return the response when its status is below 400.

        Raises:
            TransportError: If the request did not complete.
            APIError: If GitHub answered with an error status (a subclass where one fits).
        """
        try:
            response = await self._http.request(method, path, params=dict(query or {}))
        except httpx.TimeoutException as exc:
            raise TransportError(
                f"GitHub did not answer in time ({type(exc).__name__})", method=method, path=path
            ) from exc
        except httpx.TransportError as exc:
            raise TransportError(
                f"could not reach GitHub: {exc or type(exc).__name__}", method=method, path=path
            ) from exc
        if response.status_code >= 400:
            raise _api_error(response, method, path)
        return response

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


def _linked_page(response: httpx.Response, rel: str) -> int | None:
    link = response.links.get(rel)
    if not link:
        return None
    pages = parse_qs(urlsplit(link["url"]).query).get("page")
    return int(pages[0]) if pages and pages[0].isdigit() else None


def _api_error(response: httpx.Response, method: str, path: str) -> APIError:
    try:
        body = response.json()
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    message = str(message or response.reason_phrase or "error")
    headers = response.headers
    status = response.status_code
    retry_after = headers.get("retry-after")
    if status in (403, 429) and (retry_after is not None or headers.get("x-ratelimit-remaining") == "0"):
        reset = headers.get("x-ratelimit-reset")
        return RateLimited(
            message,
            method=method,
            path=path,
            status=status,
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            reset_at=datetime.fromtimestamp(int(reset), UTC) if reset and reset.isdigit() else None,
        )
    return _STATUS_ERRORS.get(status, APIError)(
        message,
        method=method,
        path=path,
        status=status,
        documentation_url=body.get("documentation_url") if isinstance(body, dict) else None,
        accepted_scopes=headers.get("x-accepted-oauth-scopes"),
        token_scopes=headers.get("x-oauth-scopes"),
    )

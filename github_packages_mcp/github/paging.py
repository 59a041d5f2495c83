"""Pages of a GitHub listing: what one page says about the others, even when GitHub sends no `Link` header.

GitHub says where a listing goes on in the `Link` header (`rel="next"`, `rel="last"`). It has been seen
answering list endpoints, notably an organization's packages, with no `Link` header at all
(octokit/core.js#695, octokit/octokit.js#2400, AnswerDotAI/ghapi#156). A full page without one is then never
taken for the end: its next page is the following number, read until one comes back short. `client.py`
walks the pages; this module only reads one.

Usage::

    page = read_page(response, page=1, per_page=100)
    page.next_page  # from the Link header; without one, 2 when the page came back full
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx2

__all__ = ["Page", "ProgressCallback", "QueryValue", "item_ids", "read_page", "unique_items"]

QueryValue = str | int
_PAGE_PARAMETER = re.compile(r"[?&]page=([0-9]+)(?:[&#]|$)")
ProgressCallback = Callable[[int, int | None], Awaitable[None]]


@dataclass(frozen=True)
class Page:
    """One page of a GitHub listing, with what its `Link` header says about the others.

    `linked` is False when GitHub sent no `Link` header: `next_page` is then a guess (the following page
    when this one is full), and `last_page` is unknown.
    """

    items: list[Any]
    page: int
    per_page: int
    next_page: int | None
    last_page: int | None
    linked: bool = True

    @property
    def paging(self) -> dict[str, Any]:
        """Where this page stands, without its items."""
        return {"page": self.page, "per_page": self.per_page, "next_page": self.next_page, "last_page": self.last_page}


def read_page(response: httpx2.Response, page: int, per_page: int) -> Page:
    """The page a listing's answer holds, and where the listing goes on.

    With a `Link` header, its `next` and `last` links. Without one, a full page reports the following page as
    next (a caller must never take a full page for the end) and no last page; a short page is the end.
    """
    items = response.json()
    if "link" in response.headers:
        links = response.links  # parsed at each reading: read once for both
        return Page(items, page, per_page, _linked_page(links, "next"), _linked_page(links, "last"))
    full = isinstance(items, list) and len(items) >= per_page
    return Page(items, page, per_page, next_page=page + 1 if full else None, last_page=None, linked=False)


def _linked_page(links: dict[str | None, dict[str, str]], rel: str) -> int | None:
    link = links.get(rel)
    if not link:
        return None
    # The query's first `page`, as parse_qs would give it, in a fifth of the time: a listing reads two per page.
    found = _PAGE_PARAMETER.search(link["url"])
    return int(found.group(1)) if found else None


def unique_items(items: list[Any]) -> list[Any]:
    """`items` in order, each id once: an item that moved between pages while they were read appears once."""
    seen: set[Any] = set()
    unique = []
    for item in items:
        key = item.get("id") if isinstance(item, dict) else None
        if key is None or key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def item_ids(items: list[Any]) -> set[Any]:
    """The ids of the items that have one."""
    return {item.get("id") for item in items if isinstance(item, dict) and item.get("id") is not None}

"""A listing as one result: GitHub's items validated as summaries and, when a text budget is given, cut at a page
boundary so that the result's text fits it (a context window), saying how to go on.

The cut is found page by page, and a page is validated and measured only when the pages before it fit: of a
5,000-version listing read with `all_pages`, only the first pages a result can hold become models. The items past
the cut are neither validated nor sent; turning all of them into models only to drop them cost more than the rest
of the tool call.
"""

from __future__ import annotations

import json
from typing import Any

from github_packages_mcp.github.models import Package, PackageList, PackageVersion, PackageVersionList, summaries
from github_packages_mcp.github.paging import Page

__all__ = ["CUT_MESSAGE_ROOM", "Listing", "compact_json", "listing_of"]

Listing = PackageList | PackageVersionList
CUT_MESSAGE_ROOM = 400  # characters a cut listing keeps free for its message


def compact_json(data: Any) -> str:
    """A result's text: JSON without spaces, non-ASCII characters as they are."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def listing_of(result: type[Listing], page: Page, *, full: bool = False, max_text: int | None = None) -> Listing:
    """`page`'s items as `result` (concise summaries, or with `full` GitHub's whole objects).

    With `max_text`, a listing longer than one page (`all_pages`) whose compact JSON without nulls is longer than
    that is cut after the last page that leaves room for the message, keeping at least one, with `next_page`,
    `last_page` and a message saying how to go on.
    """
    item = Package if result is PackageList else PackageVersion
    items, per_page = page.items, page.per_page

    def validated(part: list[Any]) -> Listing:  # in one call for all the items: faster than a model at a time
        return result.model_validate({"items": summaries(item, part, full=full), **page.paging})

    if max_text is None or len(items) <= per_page:
        return validated(items)
    listing = validated([])
    text = len(compact_json(listing.model_dump(mode="json", exclude_none=True)))
    kept, models = 0, list[Any]()
    for start in range(0, len(items), per_page):
        models += validated(items[start : start + per_page]).items
        dumped = [model.model_dump(mode="json", exclude_none=True) for model in models[start:]]
        text += len(compact_json(dumped)) - 2 + (start > 0)  # inside the list's brackets, after a comma
        if text > max_text:
            break
        kept += text <= max_text - CUT_MESSAGE_ROOM
    else:
        return listing.model_copy(update={"items": models})  # the whole listing fits
    kept, pages = max(kept, 1), -(-len(items) // per_page)
    return listing.model_copy(
        update={
            "items": models[: kept * per_page],
            "next_page": kept + 1,
            "last_page": pages,
            "message": (
                f"Cut after page {kept} of {pages} (pages of {per_page}) to fit a context window. To go on, call "
                f"again without all_pages, with page={kept + 1} and per_page={per_page}; or narrow the listing "
                "(visibility, state)."
            ),
        }
    )

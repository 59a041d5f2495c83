"""The client's listings and concurrent walks against scripted answers: pages without a `Link` header, the
list-packages result window, pages that repeat, and the errors a walk raises."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx2
import pytest

from github_packages_mcp.errors import InvalidArguments
from github_packages_mcp.github.catalogue import LIST_PACKAGES_WINDOW, operation, operation_at
from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.github.errors import GitHubError, IncompleteListing, NotFound
from github_packages_mcp.github.paging import read_page
from github_packages_mcp.github.tasks import gather
from github_packages_mcp.retention.rules import RulesError

pytestmark = pytest.mark.anyio

PACKAGES = operation("list_org_packages").url_path({"org": "acme"})
VERSIONS = operation("list_org_package_versions").url_path({"org": "acme", "package_type": "npm", "package_name": "a"})


def client_for(github: Callable[[httpx2.Request], httpx2.Response]) -> GitHubClient:
    return GitHubClient(
        base_url="https://api.github.com", token="t", api_version="2022-11-28", timeout=httpx2.Timeout(5),
        transport=httpx2.MockTransport(github),
    )  # fmt: skip


def without_link(total: int, requested: list[int]) -> Callable[[httpx2.Request], httpx2.Response]:
    """A listing of `total` items that never sends a Link header."""

    def github(request: httpx2.Request) -> httpx2.Response:
        page, per_page = int(request.url.params["page"]), int(request.url.params["per_page"])
        requested.append(page)
        ids = range((page - 1) * per_page + 1, min(total, page * per_page) + 1)
        return httpx2.Response(200, json=[{"id": i} for i in ids])

    return github


@pytest.mark.parametrize(("total", "pages"), [(250, [1, 2, 3]), (200, [1, 2, 3]), (99, [1]), (0, [1])])
async def test_a_listing_without_link_is_read_until_a_page_comes_back_short(total: int, pages: list[int]) -> None:
    requested: list[int] = []
    progress: list[tuple[int, int | None]] = []

    async def on_progress(done: int, of: int | None) -> None:
        progress.append((done, of))

    async with client_for(without_link(total, requested)) as client:
        listing = await client.get_all_pages(VERSIONS, {"state": "active"}, progress=on_progress)
    assert [item["id"] for item in listing.items] == list(range(1, total + 1))
    assert requested == pages  # one by one: nothing says how many there are
    assert listing.last_page == len(pages)
    assert progress == [(1, None), *((n, None) for n in pages[1:])]


async def test_one_page_without_link_names_the_next_only_when_it_is_full() -> None:
    async with client_for(without_link(250, [])) as client:
        full = await client.get_page(PACKAGES, {"package_type": "npm", "page": 2, "per_page": 100})
        short = await client.get_page(PACKAGES, {"package_type": "npm", "page": 3, "per_page": 100})
    assert (full.next_page, full.last_page, full.linked) == (3, None, False)
    assert (short.next_page, short.last_page, len(short.items)) == (None, None, 50)


async def test_a_linked_listing_is_still_read_concurrently_up_to_its_last_page() -> None:
    requested: list[int] = []

    def github(request: httpx2.Request) -> httpx2.Response:
        page = int(request.url.params["page"])
        requested.append(page)
        last = '<https://api.github.com/x?page=4>; rel="last"'
        return httpx2.Response(200, json=[{"id": page}] * 100, headers={"link": last} if page == 1 else {"link": ""})

    async with client_for(github) as client:
        listing = await client.get_all_pages(PACKAGES, {"package_type": "npm"})
    assert sorted(requested) == [1, 2, 3, 4]  # full pages, but Link said where it ends: no page 5
    assert listing.last_page == 4


async def test_the_list_packages_window_reached_without_link_is_an_error_not_a_whole_listing() -> None:
    requested: list[int] = []
    async with client_for(without_link(LIST_PACKAGES_WINDOW + 1, requested)) as client:
        with pytest.raises(IncompleteListing) as caught:
            await client.get_all_pages(PACKAGES, {"package_type": "npm"})
        exactly = await client.get_all_pages(VERSIONS, {})  # versions have no such window
    assert requested[:100] == list(range(1, 101))  # page 101 would be refused by GitHub: never sent
    assert f"at most {LIST_PACKAGES_WINDOW} results" in str(caught.value)
    assert "10000 were read and more may follow" in str(caught.value)
    assert len(exactly.items) == LIST_PACKAGES_WINDOW + 1


async def test_pages_without_link_that_repeat_the_first_end_the_walk_with_an_error() -> None:
    requested: list[int] = []

    def ignores_page(request: httpx2.Request) -> httpx2.Response:  # a proxy that drops the page parameter
        requested.append(int(request.url.params["page"]))
        return httpx2.Response(200, json=[{"id": i} for i in range(100)])

    async with client_for(ignores_page) as client:
        with pytest.raises(IncompleteListing, match="page 2 with items already read"):
            await client.get_all_pages(VERSIONS, {})
    assert requested == [1, 2]


def test_requests_are_told_apart_by_operation() -> None:
    assert operation_at("GET", PACKAGES) == operation("list_org_packages")
    assert operation_at("GET", "/user/packages") == operation("list_my_packages")
    assert operation_at("GET", VERSIONS) == operation("list_org_package_versions")
    assert operation_at("DELETE", VERSIONS + "/1") == operation("delete_org_package_version")
    assert operation_at("GET", "/orgs/acme/packages/extra") is None
    assert operation_at("GET", "https://ghcr.io/v2/acme/a/manifests/x") is None
    assert operation("list_org_packages").result_window == LIST_PACKAGES_WINDOW


@pytest.mark.parametrize(
    "error",
    [
        InvalidArguments("bad"),
        RulesError("tagged='untagged' needs tags"),
        NotFound("x", method="GET", path="/", status=404),
    ],
)
async def test_gather_raises_a_jobs_error_as_is_and_cancels_the_rest(error: Exception) -> None:
    cancelled: list[bool] = []

    async def fails() -> int:
        raise error

    async def slow() -> int:
        try:
            await anyio.sleep(5)
        except anyio.get_cancelled_exc_class():
            cancelled.append(True)
            raise
        return 1

    with pytest.raises(type(error)) as caught:
        await gather([slow, fails])
    assert caught.value is error  # not inside an ExceptionGroup
    assert cancelled == [True]
    assert isinstance(error, GitHubError | InvalidArguments)


async def test_gather_leaves_other_failures_in_their_group() -> None:
    async def bug() -> int:
        raise KeyError("bug")

    with pytest.raises(ExceptionGroup):
        await gather([bug])


@pytest.mark.parametrize(
    ("url", "page"),
    [
        ("https://api.github.com/orgs/o/packages?page=2&per_page=30", 2),
        ("https://api.github.com/orgs/o/packages?per_page=30&page=12", 12),
        ("https://api.github.com/orgs/o/packages?per_page=30&subpage=3&page=4", 4),
        ("https://api.github.com/orgs/o/packages?page=5#top", 5),
        ("https://api.github.com/orgs/o/packages?page=last", None),
        ("https://api.github.com/orgs/o/packages?per_page=30", None),
    ],
)
def test_the_links_page_is_read_from_its_query(url: str, page: int | None) -> None:
    link = f'<{url}>; rel="next", <{url}>; rel="last"'
    answer = httpx2.Response(200, json=[{"id": 1}], headers={"Link": link})
    read = read_page(answer, page=1, per_page=1)
    assert (read.next_page, read.last_page) == (page, page)

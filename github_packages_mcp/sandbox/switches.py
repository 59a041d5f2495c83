"""Switches: where GitHub has been seen to behave one way and tests may want another.

Every default is what public evidence says GitHub and ghcr.io do today; each switch turns on an alternative
(another registry's behaviour, or GitHub's at another time). docs/github-behaviour.md has the evidence, one row
per switch, under the anchor named next to it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Final, Literal, TypedDict, cast

ReferrersMode = Literal["none", "redirect", "supported"]
REFERRERS_MODES: Final[tuple[ReferrersMode, ...]] = ("none", "redirect", "supported")
DeleteWithoutAdmin = Literal["not_found", "forbidden"]
DELETE_WITHOUT_ADMIN: Final[tuple[DeleteWithoutAdmin, ...]] = ("not_found", "forbidden")
LastVersion = Literal["refuse", "delete_package"]
LAST_VERSION_MODES: Final[tuple[LastVersion, ...]] = ("refuse", "delete_package")
_EXAMPLE: Final = '{"referrers": "supported", "list_packages_without_link": true}'


@dataclass(frozen=True)
class Switches:
    """How the sandbox answers where GitHub's behaviour is in question; the defaults are GitHub's.

    `referrers`: what GET /v2/<name>/referrers/<digest> answers. "none" (ghcr.io: no referrers API, 404
    MANIFEST_UNKNOWN), "redirect" (ghcr.io also seen answering 303 See Other to github.com, with an HTML body),
    "supported" (an OCI 1.1 referrers index, as other registries serve it). docs/github-behaviour.md#referrers-api
    `list_packages_without_link`: list-packages answers without a Link header, paging still working through
    `page` and `per_page`. docs/github-behaviour.md#listing-without-link
    `actions_token_lists_org_packages`: an Actions token may list an organization's packages instead of getting
    GitHub's 400 "Invalid argument.". docs/github-behaviour.md#actions-tokens
    `delete_without_admin`: what a user's token that can see a package but not administer it gets for a DELETE of
    the package or one of its versions. "not_found" (GitHub: 404 "Package not found.", though it exists),
    "forbidden" (403 "You do not have admin access to this package."). docs/github-behaviour.md#delete-without-admin
    `last_version`: what a DELETE of the last version of a package other than a container image gets. "refuse"
    (GitHub: 400 "You cannot delete the last version of a package. You must delete the package instead."),
    "delete_package" (GitHub has also been seen deleting the package with it). docs/github-behaviour.md#last-version
    """

    referrers: ReferrersMode = "none"
    list_packages_without_link: bool = False
    actions_token_lists_org_packages: bool = False
    delete_without_admin: DeleteWithoutAdmin = "not_found"
    last_version: LastVersion = "refuse"

    def __post_init__(self) -> None:
        for name, allowed in (
            ("referrers", REFERRERS_MODES),
            ("delete_without_admin", DELETE_WITHOUT_ADMIN),
            ("last_version", LAST_VERSION_MODES),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of: {', '.join(allowed)}")
        for name in ("list_packages_without_link", "actions_token_lists_org_packages"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")

    def to_json(self) -> dict[str, Any]:
        """As GET /_sandbox/switches shows them."""
        return asdict(self)

    def updated(self, data: object) -> Switches:
        """These switches with the changes POST /_sandbox/switches sends; ValueError says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"send a JSON object like {_EXAMPLE}")
        unknown = set(data) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown switches: {', '.join(sorted(unknown))}")
        return replace(self, **cast(dict[str, Any], data))  # __post_init__ checks the values


class SwitchChanges(TypedDict, total=False):
    """Switches to change, by name (`SandboxState.set_switches`)."""

    referrers: ReferrersMode
    list_packages_without_link: bool
    actions_token_lists_org_packages: bool
    delete_without_admin: DeleteWithoutAdmin
    last_version: LastVersion

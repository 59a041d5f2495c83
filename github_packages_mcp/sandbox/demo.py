"""The demo world: deterministic packages whose timestamps are relative to the clock's "now"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from github_packages_mcp.sandbox.demo_images import gateway, images, multi_arch, web_api_tags
from github_packages_mcp.sandbox.model import Owner, Package, Token, Version, World

# Public, documented demo credentials: they only ever open the local sandbox.
DEMO_TOKEN = "ghp_sandboxDemoToken0000000000000000000"  # noqa: S105
DEMO_READ_TOKEN = "ghp_sandboxReadOnly000000000000000000000"  # noqa: S105
DEMO_FINE_GRAINED_TOKEN = "github_pat_11SANDBOX0demo_fineGrainedToken0000000000000000000000000000000"  # noqa: S105
DEMO_ACTIONS_TOKEN = "ghs_sandboxActionsToken00000000000000000"  # noqa: S105  # a workflow's GITHUB_TOKEN in acme-labs
DEMO_TOKENS: Final = (DEMO_TOKEN, DEMO_READ_TOKEN, DEMO_FINE_GRAINED_TOKEN, DEMO_ACTIONS_TOKEN)
DEMO_LOGIN = "octo-demo"
DEMO_ORG = "acme-labs"
DEMO_OTHER_USER = "mona-demo"
ACTIONS_BOT = "github-actions[bot]"

ALL_SCOPES = ("read:packages", "write:packages", "delete:packages")


def _releases(
    now: datetime,
    first_id: int,
    names: Sequence[str],
    *,
    newest_days_ago: float,
    days_apart: float,
    license: str | None = None,
    description: str | None = None,
    downloads: int = 0,
) -> list[Version]:
    """Named versions (npm, maven, ...), given oldest first."""
    versions = []
    for i, name in enumerate(names):
        created = now - timedelta(days=newest_days_ago + days_apart * (len(names) - 1 - i))
        versions.append(
            Version(
                first_id + i * 1_117, name, created, created + timedelta(seconds=1), (), license, description, downloads
            )
        )
    return versions


def _package(
    package_id: int,
    owner: Owner,
    package_type: str,
    name: str,
    visibility: Literal["public", "private"],
    versions: list[Version],
    *,
    internal: bool = False,
    repository: str | None = None,
    download_count: int = 0,
    migration_conflict: bool = False,
    deleted_at: datetime | None = None,
) -> Package:
    return Package(
        package_id,
        name,
        package_type,
        owner,
        visibility,
        created_at=min(v.created_at for v in versions),
        updated_at=max(v.updated_at for v in versions),
        versions=versions,
        internal=internal,
        repository=repository,
        download_count=download_count,
        migration_conflict=migration_conflict,
        deleted_at=deleted_at,
    )


# The owners never change (they are frozen), so every rebuilt world can share them.
_OCTO: Final = Owner(
    DEMO_LOGIN, 58_391_207, "User", name="Octo Demo", created_at=datetime(2019, 11, 5, 9, 26, 53, tzinfo=UTC)
)
_ACME: Final = Owner(DEMO_ORG, 91_204_335, "Organization", admins=frozenset({DEMO_LOGIN}), name="Acme Labs")
_MONA: Final = Owner(
    DEMO_OTHER_USER, 7_301_442, "User", name="Mona Demo", created_at=datetime(2014, 3, 18, 16, 2, 11, tzinfo=UTC)
)
_BOT: Final = Owner(ACTIONS_BOT, 41_898_282, "Bot", created_at=datetime(2018, 7, 30, 9, 30, 16, tzinfo=UTC))


def build_demo_world(now: datetime) -> World:
    """Build the demo world around `now` (see the package docs for the inventory)."""
    packages = [
        *_octo_demo_packages(now),
        *_acme_labs_images(now),
        *_acme_labs_libraries(now),
        *_mona_demo_packages(now),
        *_deleted_packages(now),
        *_docker_migration_conflicts(now),
    ]
    tokens = {
        DEMO_TOKEN: Token(DEMO_LOGIN, ALL_SCOPES),
        DEMO_READ_TOKEN: Token(DEMO_LOGIN, ("read:packages",)),
        DEMO_FINE_GRAINED_TOKEN: Token(DEMO_LOGIN, (), "fine_grained"),
        DEMO_ACTIONS_TOKEN: Token(ACTIONS_BOT, (), "actions", acts_for=DEMO_ORG),
    }
    owners = {o.login.lower(): o for o in (_OCTO, _ACME, _MONA, _BOT)}
    return World(owners, packages, tokens)


def _hello_world(now: datetime) -> Package:
    """octo-demo's public image, with one deleted version."""
    hello = images(
        now,
        1_012_004_501,
        "hello-world",
        [("latest", "v1.2.0"), (), ("v1.1.1",), ("v1.1.0",), (), (), ("v1.0.1",), ("v1.0.0",), (), ("v0.9.0",), (), ()],
        hours_apart=70,
        downloads=310,
    )
    hello[1].deleted_at = now - timedelta(days=1)  # so /user/... state=deleted has something to restore
    return _package(
        41_200_101, _OCTO, "container", "hello-world", "public", hello, repository="hello-world", download_count=310
    )


def _octo_demo_packages(now: datetime) -> list[Package]:
    """octo-demo's active packages: the demo user's own."""
    return [
        _hello_world(now),
        _package(
            41_200_102,
            _OCTO,
            "npm",
            "octo-utils",
            "private",
            _releases(
                now,
                921_000_011,
                ["1.0.0", "1.1.0", "1.2.0", "1.2.1", "2.0.0-rc.1"],
                newest_days_ago=3,
                days_apart=12,
                license="MIT",
                description="Small utilities used across octo-demo projects",
            ),
        ),
        _package(
            41_200_103,
            _OCTO,
            "rubygems",
            "octo_gem",
            "public",
            _releases(
                now,
                930_400_021,
                ["0.1.0", "0.2.0", "0.3.0"],
                newest_days_ago=20,
                days_apart=30,
                license="MIT",
                description="Octo gem for Ruby",
                downloads=42,
            ),
            download_count=42,
        ),
        _package(
            41_200_104,
            _OCTO,
            "nuget",
            "Octo.Core",
            "private",
            _releases(now, 940_700_031, ["1.0.0", "1.0.1"], newest_days_ago=8, days_apart=15),
        ),
        _package(
            41_200_105,
            _OCTO,
            "maven",
            "com.octodemo.app",
            "private",
            _releases(now, 950_100_041, ["1.0.0", "1.1.0", "1.2.0", "1.3.0"], newest_days_ago=6, days_apart=21),
        ),
    ]


def _web_api(now: datetime) -> Package:
    """acme-labs' big internal image: 350 versions, mostly untagged, a few deleted."""
    web_api = images(now, 3_000_000_000, "web/api", web_api_tags(), hours_apart=5, id_step=7_919)
    for age in (61, 91, 121, 151, 181):  # untagged builds cleaned up two days ago
        web_api[age].deleted_at = now - timedelta(days=2)
    return _package(52_700_201, _ACME, "container", "web/api", "private", web_api, internal=True, repository="web")


def _acme_labs_images(now: datetime) -> list[Package]:
    """acme-labs' container images: a big private one, a popular public one and a multi-arch one."""
    return [
        _web_api(now),
        _package(
            52_700_202,
            _ACME,
            "container",
            "base-image",
            "public",
            images(
                now,
                1_105_000_201,
                "base-image",
                [("latest", "2024.06"), ("2024.05",), ("2024.04",)],
                hours_apart=24 * 30,
                downloads=12_000,
            ),
            download_count=12_000,
            repository="base-image",
        ),
        _package(52_700_210, _ACME, "container", "multi/app", "public", multi_arch(now), repository="multi"),
        _package(52_700_211, _ACME, "container", "gateway", "private", gateway(now), repository="gateway"),
    ]


def _design_system(now: datetime) -> Package:
    """acme-labs' internal npm package, whose deleted 1.3.0 cannot be restored."""
    day = timedelta(days=1)
    design = _releases(
        now,
        955_210_001,
        ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.4.1", "2.0.0", "2.1.0"],
        newest_days_ago=2,
        days_apart=9,
        license="MIT",
        description="Acme's design tokens and React components",
    )
    # 1.3.0 was unpublished 5 days ago and republished 4 days ago: restoring the old one is blocked.
    design.append(
        Version(955_199_999, "1.3.0", now - 40 * day, now - 40 * day, license="MIT", deleted_at=now - 5 * day)
    )
    republished = next(v for v in design if v.name == "1.3.0" and v.deleted_at is None)
    republished.id, republished.created_at, republished.updated_at = 955_230_001, now - 4 * day, now - 4 * day
    return _package(
        52_700_203, _ACME, "npm", "design-system", "private", design, internal=True, repository="design-system"
    )


def _acme_labs_libraries(now: datetime) -> list[Package]:
    """acme-labs' active npm, maven, rubygems and nuget packages."""
    return [
        _design_system(now),
        _package(
            52_700_204,
            _ACME,
            "maven",
            "com.acme.billing",
            "private",
            _releases(now, 960_500_211, ["2.0.0", "2.1.0", "2.1.1"], newest_days_ago=5, days_apart=14),
            repository="billing",
        ),
        _package(
            52_700_205,
            _ACME,
            "rubygems",
            "acme-ruby",
            "private",
            _releases(now, 970_200_221, ["0.1.0"], newest_days_ago=11, days_apart=1, license="Apache-2.0"),
        ),
        _package(
            52_700_206,
            _ACME,
            "nuget",
            "Acme.Sdk",
            "public",
            _releases(now, 980_900_231, ["1.0.0", "1.1.0"], newest_days_ago=9, days_apart=25, downloads=40),
            download_count=40,
        ),
        _package(
            52_700_207,
            _ACME,
            "npm",
            "shared-config",
            "private",
            _releases(now, 1_150_000_241, ["1.0.0"], newest_days_ago=1, days_apart=1),
        ),
    ]


def _mona_demo_packages(now: datetime) -> list[Package]:
    """mona-demo's active packages: another user, whose private ones the demo user may not see."""
    return [
        _package(
            63_100_301,
            _MONA,
            "container",
            "tools/cli",
            "public",
            images(
                now,
                1_080_000_301,
                "tools/cli",
                [("latest", "v0.6.0"), ("v0.5.0",), (), ("v0.4.0",), (), ("v0.1.0",)],
                hours_apart=24 * 7,
            ),
            repository="tools",
        ),
        _package(
            63_100_302,
            _MONA,
            "npm",
            "mona-private",
            "private",
            _releases(now, 1_090_000_311, ["0.1.0", "0.2.0"], newest_days_ago=4, days_apart=4),
        ),
    ]


def _deleted_packages(now: datetime) -> list[Package]:
    """Deleted packages: restorable for 30 days, one past that, and one whose name is in use again."""
    day = timedelta(days=1)
    return [
        _package(
            41_200_107,
            _OCTO,
            "npm",
            "old-cli",
            "private",
            _releases(now, 912_300_061, ["0.1.0", "0.2.0"], newest_days_ago=60, days_apart=30),
            deleted_at=now - 3 * day,
        ),
        _package(
            41_200_108,
            _OCTO,
            "npm",
            "ancient-tool",
            "private",
            _releases(now, 901_800_071, ["0.0.1", "0.0.2"], newest_days_ago=300, days_apart=30),
            deleted_at=now - 45 * day,
        ),
        _package(
            52_700_208,
            _ACME,
            "npm",
            "shared-config",
            "private",
            _releases(now, 990_000_251, ["0.9.0", "0.9.1"], newest_days_ago=40, days_apart=10),
            deleted_at=now - 10 * day,
        ),
    ]


def _docker_migration_conflicts(now: datetime) -> list[Package]:
    """docker packages stuck in the migration to the container registry, one per owner."""
    return [
        _package(
            41_200_106,
            _OCTO,
            "docker",
            "legacy-image",
            "private",
            images(now, 905_000_051, "legacy-image", [("latest",), ("1.0",)], hours_apart=24 * 200),
            migration_conflict=True,
        ),
        _package(
            52_700_209,
            _ACME,
            "docker",
            "old-registry-image",
            "private",
            images(now, 907_000_261, "old-registry-image", [("1.0",)], hours_apart=1),
            migration_conflict=True,
        ),
        _package(
            63_100_303,
            _MONA,
            "docker",
            "mona-legacy",
            "public",
            images(now, 908_000_321, "mona-legacy", [("latest",)], hours_apart=1),
            migration_conflict=True,
        ),
    ]

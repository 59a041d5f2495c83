"""Resources and prompts: a package with its newest versions by URI, and the common workflows as prompts.

Resource URIs mirror GitHub's API paths, with the package name percent-encoded like any path segment:
`github-packages://orgs/acme-labs/packages/container/web%2Fapi`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import INVALID_PARAMS
from pydantic import Field, TypeAdapter, ValidationError

from github_packages_mcp.durations import Days, WholeDays
from github_packages_mcp.github.catalogue import MAX_LOGIN, MAX_SEGMENT, operation
from github_packages_mcp.github.execute import execute
from github_packages_mcp.github.models import PackageType
from github_packages_mcp.github.untrusted import quoted
from github_packages_mcp.toolkit.advice import tool_errors
from github_packages_mcp.toolkit.context import AppContext, app_of
from github_packages_mcp.toolkit.schemas import keyword, signed

__all__ = ["add_prompts", "add_resources", "prompt_errors"]

SCHEME = "github-packages:/"
NEWEST_VERSIONS = 100


def add_resources(server: MCPServer[AppContext]) -> None:
    """One resource template per owner kind: the package (concise) and its newest versions."""
    for owner in ("my", "org", "user"):
        get, versions = operation(f"get_{owner}_package"), operation(f"list_{owner}_package_versions")
        template = SCHEME + get.path  # e.g. github-packages://orgs/{org}/packages/{package_type}/{package_name}
        checks = {param.name: TypeAdapter(param.annotation) for param in get.params}

        async def read(
            ctx: Context[AppContext, Any], get: Any = get, versions: Any = versions, checks: Any = checks, **path: str
        ) -> str:
            _check_uri_values(checks, path)
            github = app_of(ctx).github
            with tool_errors(get.scopes, get.name):
                package = await execute(get, github, path)
                newest = await execute(versions, github, {**path, "page": 1, "per_page": NEWEST_VERSIONS})
            return json.dumps(
                {
                    "package": package.model_dump(mode="json", exclude_none=True),
                    "versions": newest.model_dump(mode="json", exclude_none=True),
                },
                separators=(",", ":"),
            )

        params = [keyword(p.name, str) for p in get.params] + [keyword("ctx", Context)]
        server.resource(
            template,
            name=f"{owner}_package",
            description=f"{get.description.split('.')[0].replace('Get one of', 'One of')}, with its newest versions",
            mime_type="application/json",
        )(signed(read, f"{owner}_package_resource", params, str))


def _check_uri_values(checks: Mapping[str, TypeAdapter[Any]], values: Mapping[str, str]) -> None:
    """Each value a resource URI gave checked as the tool arguments are, before anything is sent to GitHub.

    Raises:
        MCPError: -32602, naming the argument and what it may be (e.g. the package types).
    """
    for name, check in checks.items():
        try:
            check.validate_python(values[name])
        except ValidationError as exc:
            allowed = exc.errors()[0]["msg"]  # e.g. "Input should be 'npm', 'maven', ... or 'container'"
            message = f"Invalid {name} {quoted(values[name])} in the resource URI: {allowed}."
            message += " Nothing was sent to GitHub."
            raise MCPError(code=INVALID_PARAMS, message=message) from None


def add_prompts(server: MCPServer[AppContext], tools: set[str]) -> None:
    """Prompts for the workflows people ask for, registered when the tools they use are offered."""
    prompts = (
        (clean_up_container_package, {"plan_version_cleanup"}),
        (audit_organization, {"audit_packages"}),
        (draft_cleanup_policy, {"audit_packages", "plan_version_cleanup", "export_cleanup_policy"}),
    )
    for prompt, needs in prompts:
        if needs <= tools:
            server.prompt(description=(prompt.__doc__ or "").strip())(prompt)


def clean_up_container_package(
    owner: Annotated[str, Field(description="Organization or user login", max_length=MAX_LOGIN)],
    package: Annotated[str, Field(description="Container package name, e.g. web/api", max_length=MAX_SEGMENT)],
    keep_latest: Annotated[int, Field(description="Untagged versions to keep, newest first", ge=0)] = 10,
    older_than_days: Annotated[Days, Field(description="Keep untagged ones younger: days, or 2w 3d")] = 30,
) -> str:
    """Clean up a container package: plan, show, confirm, apply, report."""
    return (
        f"Clean up the container package '{package}' of '{owner}' (an organization or a user).\n"
        "1. Call check_token and stop with its advice if apply_version_cleanup is not usable.\n"
        f"2. Call plan_version_cleanup for it with tagged='untagged', keep_latest={keep_latest} and "
        f"keep_younger_than_days={older_than_days:g}. Nothing is deleted yet.\n"
        "3. Show me the totals, the rules that decided, and which untagged versions are kept because "
        "a kept multi-arch image or signature needs them; say if manifests could not be read.\n"
        "4. Only if I agree, call apply_version_cleanup with the plan_id; I confirm in a form or you "
        "show me the summary before using the confirmation_token.\n"
        "5. Report what was deleted, skipped and already gone, and the journal file; offer "
        "restore_from_journal for anything I want back."
    )


def audit_organization(
    org: Annotated[str, Field(description="Organization login", max_length=MAX_LOGIN)],
    stale_after_days: Annotated[WholeDays, Field(description="Stale: no new version in this many days")] = 90,
) -> str:
    """Audit an organization's packages and suggest what to clean up."""
    return (
        f"Audit the packages of the organization '{org}'.\n"
        f"1. Call audit_packages with org='{org}' and stale_after_days={stale_after_days}.\n"
        "2. Summarise: packages per type and visibility, the public ones, the stale ones, untagged "
        "image versions, and deleted versions that can still be restored (with days left).\n"
        "3. Suggest cleanups as plan_version_cleanup calls (which delete nothing), and do not apply "
        "any without my agreement."
    )


def draft_cleanup_policy(
    org: Annotated[str | None, Field(description="Organization login", max_length=MAX_LOGIN)] = None,
    username: Annotated[str | None, Field(description="Or a user login", max_length=MAX_LOGIN)] = None,
    package_type: Annotated[PackageType | None, Field(description="Only this registry, e.g. container")] = None,
    keep_younger_than_days: Annotated[Days, Field(description="Age to start from: days, or 2w 3d")] = 30,
) -> str:
    """Draft a retention policy file from what takes space: audit, propose rules, dry runs, export."""
    if (org is None) == (username is None):
        # An MCPError reaches the client as it is; the SDK words any other error "Error rendering prompt".
        raise MCPError(code=INVALID_PARAMS, message="give org or username (a policy names its owner), not both")
    owner = f"org='{org}'" if org else f"username='{username}'"
    kind, types = (f"{package_type} ", f", package_types=['{package_type}']") if package_type else ("", "")
    return (
        f"Draft a retention policy for the {kind}packages of {owner}: a file of cleanups I review, "
        "commit and run again and again (github-packages-mcp cleanup --policy). Delete nothing.\n"
        f"1. Call audit_packages with {owner}{types}. Show me what takes space: the packages with the most "
        "versions, untagged images, stale packages.\n"
        "2. Propose rules per package, or per name glob such as 'services/*' where packages share them: for "
        f"example untagged images older than {keep_younger_than_days:g} days, or the N newest releases kept; and "
        "what must stay (exclude_tags such as latest or release patterns). Say why for each.\n"
        "3. Call plan_version_cleanup for each (it deletes nothing) and show me, per plan, what would be deleted "
        "and kept by rule. Change the rules with me until I agree. Never call apply_version_cleanup here.\n"
        "4. Call export_cleanup_policy with the plan_ids I agreed to and show me its text exactly as given.\n"
        "5. Tell me how to use it: save and commit it as its hint says, dry-run it with the command in the hint, "
        "and to run it on a schedule use the GitHub Action (docs/action.md: its example workflow reads "
        ".github/packages-policy.toml, deleting only with apply: true). Every delete is journaled; "
        "restore_from_journal undoes it within GitHub's 30 days."
    )


async def prompt_errors(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: `prompts/get` of a prompt that does not exist, or with arguments it cannot take, answers
    -32602 Invalid params. The SDK raises ValueError for both, which reached the client as error code 0 (-32603 on
    2026-07-28; docs/sdk-notes.md). Our prompts only put their arguments into text, so nothing else fails there."""
    if ctx.method != "prompts/get":
        return await call_next(ctx)
    try:
        return await call_next(ctx)
    except ValidationError:
        raise  # malformed params: the SDK's own -32602, without pydantic's text
    except ValueError as exc:
        raise MCPError(code=INVALID_PARAMS, message=str(exc)) from exc

"""Each kind of result, for people: listings as tables, a package or version as `key: value`, a plan as per-package
counts then every version with its action, rule, tags and age, outcomes of deletes, applies and restores, the
journal's history, audits and token checks. Each renderer takes the result's structured content (the same data
`--json` prints) and the time to measure ages from; `RENDERERS` picks one by the tool's name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from github_packages_mcp.cli.readable.cells import (
    age,
    cell,
    digest,
    generic,
    heading,
    key_values,
    local_time,
    note,
    table,
    tags,
    when,
)
from github_packages_mcp.cli.readable.table import Block, Styled
from github_packages_mcp.github.untrusted import visible

__all__ = ["RENDERERS", "Renderer"]

Data = Mapping[str, Any]
Renderer = Callable[[Data, datetime], list[Block]]
_ACTION_STYLES = {"delete": "red", "keep": "green"}
_RESULT_STYLES = {"deleted": "red", "restored": "green", "failed": "yellow", "restore_failed": "yellow"}


def _counted(counts: Mapping[str, int]) -> str:
    return " · ".join(f"{name} {count}" for name, count in counts.items() if count)


def listing(data: Data, now: datetime) -> list[Block]:
    """list_*: packages (name, type, visibility, versions, updated) or versions (id, name, tags, created,
    updated), then where the listing goes on."""
    items: Sequence[Data] = data.get("items", [])
    rows: list[tuple[Styled | str, ...]]
    if any("package_type" in item for item in items):
        headers, what = ("name", "type", "visibility", "versions", "updated"), "package"
        rows = [
            (cell(p["name"]), cell(p["package_type"]), cell(p["visibility"]), str(p["version_count"]),
             age(p["updated_at"], now))
            for p in items
        ]  # fmt: skip
    else:
        headers, what = ("id", "name", "tags", "created", "updated"), "version"
        rows = [
            (str(v["id"]), cell(digest(v["name"])), tags(v.get("tags")), age(v["created_at"], now),
             age(v["updated_at"], now))
            for v in items
        ]  # fmt: skip
    parts: list[Block] = [table(headers, rows, right=("versions",), cut=("tags",))] if rows else []
    said = f"{len(items)} {what}(s)"
    if data.get("next_page"):
        of = f" of {data['last_page']}" if data.get("last_page") else ""
        said += f", page {data.get('page')}{of}; next: page={data['next_page']}, or every page: all_pages=true"
    parts.append(Styled(said, "dim"))
    if data.get("message"):
        parts.append(note(data["message"]))
    return parts


def details(data: Data, now: datetime) -> list[Block]:
    """get_*: one package or version as `key: value` lines, its owner and repository on one line each."""
    shown: dict[str, Any] = dict(data)
    if isinstance(owner := shown.get("owner"), Mapping):
        shown["owner"] = f"{owner.get('login')} ({owner.get('type')})"
    if isinstance(repository := shown.get("repository"), Mapping):
        private = " (private)" if repository.get("private") else ""
        shown["repository"] = f"{repository.get('full_name')}{private}"
    if shown.get("tags") == []:
        shown["tags"] = "untagged"
    return [generic(shown, now)]


def plan(data: Data, now: datetime) -> list[Block]:
    """plan_version_cleanup: the totals, then per package the counts by decision and by rule, and every version
    (kept ones too) with its action, tags, age and rule."""
    parts: list[Block] = [
        heading(cell(f"Plan {data['plan_id']}: {data['package_type']} packages of {data['owner']}")),
        Styled(_counted({"delete": data["delete"], "keep": data["keep"]}) or "no versions"),
    ]
    for package in data["packages"]:
        counts = _counted({"delete": package["delete"], "keep": package["keep"]})
        parts += [
            Styled(""),
            heading(cell(package["package"]) + Styled(f"  {package['versions']} version(s): {counts}")),
        ]
        if package.get("by_rule"):
            parts.append(Styled(f"by rule: {_counted(package['by_rule'])}"))
        if package.get("manifests"):
            parts.append(note(f"manifests: {package['manifests']}"))
        rows = [
            (Styled(d["action"], _ACTION_STYLES.get(d["action"], "")), str(d["id"]), cell(digest(d["name"])),
             tags(d.get("tags")), age(d.get("created_at"), now), cell(_reason(d["rule"])))
            for d in package["decisions"]
        ]  # fmt: skip
        if rows:
            parts.append(table(("action", "id", "version", "tags", "age", "rule"), rows, cut=("tags", "rule")))
        if package.get("decisions_omitted"):
            parts.append(note(f"{package['decisions_omitted']} kept version(s) not listed"))
    parts.append(Styled(""))
    if data["delete"]:  # the server's message tells a model how to go on; a person gets the command
        command = f"  github-packages-mcp call apply_version_cleanup plan_id={data['plan_id']}"
        parts.append(
            Styled(f"Nothing was deleted. To delete these {data['delete']} version(s), with this command's options:")
        )
        parts.append(Styled(command, whole=True))
    else:
        parts += _notes([data.get("message")])
    return parts


def _reason(rule: str) -> str:
    """A decision's rule without its action, which has a column of its own: `kept: among the 3 newest` says
    `among the 3 newest`."""
    action, sep, reason = rule.partition(": ")
    return reason if sep and action in ("kept", "delete") else rule


def outcome(data: Data, now: datetime) -> list[Block]:
    """delete_*, restore_*, apply_version_cleanup, restore_from_journal: what was done, its counts, and each
    version skipped or failed with why."""
    parts: list[Block] = [cell(data["summary"])] if data.get("summary") else []
    if data.get("message"):
        parts.append(cell(data["message"]))
    elif type(data.get("restored")) is int:  # restore_from_journal says it in numbers only
        parts.append(Styled(f"Restored {data['restored']}, {data.get('failed', 0)} failed."))
    numbers = ("deleted_count", "already_gone", "skipped", "failed")
    counts = [(key.removesuffix("_count").replace("_", " "), str(data[key])) for key in numbers if key in data]
    if "deleted_count" in data:  # an apply: every count, zeros too, so the four add up to the plan
        parts.append(key_values(counts))
    failures = [*data.get("skipped_versions", ()), *data.get("failures", ())]
    if failures:
        rows = [(str(f["id"]), cell(digest(f["name"])), cell(f["reason"])) for f in failures]
        parts.append(table(("id", "version", "reason"), rows, cut=("reason",)))
    if data.get("confirmation_token"):
        parts.append(key_values([("confirmation token", cell(data["confirmation_token"])),
                                 ("expires", when(data.get("expires_at"), now))]))  # fmt: skip
    if data.get("journal"):
        parts.append(note(f"journal: {data['journal']}"))
    return parts


def history(data: Data, now: datetime) -> list[Block]:
    """list_deletion_history: the journal's lines, newest first, each saying whether it can still be restored."""
    entries: Sequence[Data] = data.get("entries", [])
    said = f"{data['total']} journal line(s), {data['restorable']} restorable"
    parts: list[Block] = [heading(said)]
    if data.get("counts"):
        parts.append(Styled(_counted(data["counts"])))
    rows = [
        (local_time(e["time"]), Styled(e["result"], _RESULT_STYLES.get(e["result"], "")),
         cell(e["package_name"]), cell(e.get("version_id") or "package"),
         cell(digest(e.get("name") or "")), tags(e.get("tags")), cell(e["tool"]), cell(e.get("restorable")))
        for e in entries
    ]  # fmt: skip
    if rows:
        headers = ("time", "result", "package", "id", "version", "tags", "tool", "restorable")
        parts.append(table(headers, rows, cut=("tags",)))
    if data.get("unverified"):
        parts.append(Styled(f"{data['unverified']} journal line(s) ignored: malformed or failing their signature",
                          "yellow"))  # fmt: skip
    parts += _notes([data.get("message"), f"journal: {data.get('journal')}"])
    return parts


def _notes(lines: Sequence[str | None]) -> list[Block]:
    return [note(line) for line in lines if line]


def audit(data: Data, now: datetime) -> list[Block]:
    """audit_packages: the totals, a table of the packages, each restorable version, and the notes."""
    totals: Data = data["totals"]
    parts: list[Block] = [
        heading(cell(f"Audit of {data['owner']}")),
        Styled(_counted({key: totals.get(key) or 0 for key in ("packages", "versions", "stale", "restorable")})),
        key_values([("by type", cell(totals["by_type"])), ("by visibility", cell(totals["by_visibility"])),
                    ("public", cell(totals["public"])), ("stale after", f"{data['stale_after_days']}d")]),
    ]  # fmt: skip
    rows = [
        (cell(p["name"]), cell(p["type"]), cell(p["visibility"]), str(p["version_count"]), cell(p.get("untagged")),
         age(p["updated_at"], now), Styled("stale", "yellow") if p["stale"] else Styled(""),
         cell(digest(p.get("latest_version") or "")), cell(p.get("restorable")))
        for p in data["packages"]
    ]  # fmt: skip
    if rows:
        headers = ("name", "type", "visibility", "versions", "untagged", "updated", "stale", "latest", "restorable")
        parts.append(table(headers, rows, right=("versions", "untagged", "restorable")))
    restorable = [
        (cell(p["name"]), str(v["id"]), cell(digest(v["name"])), local_time(v["deleted_at"]), f"{v['days_left']}d")
        for p in data["packages"]
        for v in p.get("restorable_versions") or ()
    ]
    if restorable:
        parts += [Styled(""), heading("Restorable versions")]
        parts.append(table(("package", "id", "version", "deleted", "left"), restorable))
    parts += _notes(data.get("notes", ()))
    return parts


def integrity(data: Data, now: datetime) -> list[Block]:
    """check_image_integrity: per package what was read, and each broken image or stray part with why."""
    parts: list[Block] = [heading(cell(f"Image integrity of {data['owner']}"))]
    if data.get("counts"):
        parts.append(Styled(_counted(data["counts"])))
    for package in data["packages"]:
        parts.append(cell(f"{package['package']}: {package['versions']} version(s), {package['manifests']}"))
        rows = [
            (cell(i["kind"]), str(i["id"]), cell(digest(i["name"])), tags(i.get("tags")), cell(i["detail"]))
            for i in package["issues"]
        ]
        if rows:
            parts.append(table(("issue", "id", "version", "tags", "detail"), rows, cut=("issue", "tags", "detail")))
        if package.get("issues_omitted"):
            parts.append(note(f"{package['issues_omitted']} more issue(s) not listed"))
    parts += _notes([data.get("message")])
    return parts


def token(data: Data, now: datetime) -> list[Block]:
    """check_token: who the token is, its scopes and quota, the tools it can use, and what the others miss."""
    pairs: list[tuple[str, Styled | str]] = [("user", cell(data.get("login") or "unknown"))]
    pairs.append(("kind", cell(data["token_type"])))
    scopes = data.get("scopes")
    pairs.append(("scopes", cell(scopes) if scopes else Styled("none listed", "dim")))
    if quota := data.get("rate_limit"):
        left = f"{quota['remaining']} of {quota['limit']} requests left, resets {when(quota['resets_at'], now)}"
        pairs.append(("rate limit", left))
    pairs.append(("usable", Styled(f"{len(data['usable'])} tool(s): ") + cell(data["usable"])))
    parts: list[Block] = [key_values(pairs)]
    if data.get("unusable"):
        rows = [(cell(t["tool"]), cell(t["missing"])) for t in data["unusable"]]
        parts += [
            heading(f"Unusable: {len(rows)} tool(s)"),
            table(("tool", "missing scopes"), rows, cut=("missing scopes",)),
        ]
    parts += _notes(data.get("notes", ()))
    return parts


def policy(data: Data, now: datetime) -> list[Block]:
    """export_cleanup_policy: the policy file line by line as it is written, to read or copy whole (its writer
    escaped every character a terminal would obey; `visible` holds it so), then how to run it."""
    lines = str(data.get("text", "")).rstrip("\n").split("\n")
    return [*(Styled(visible(line, keep=""), whole=True) for line in lines), note(data.get("hint"))]


def fallback(data: Data, now: datetime) -> list[Block]:
    """Any other result: nested `key: value`, lists of objects as tables."""
    return [generic(data, now)]


# By tool name, first match wins (fnmatch patterns); anything else is shown by `fallback`.
RENDERERS: tuple[tuple[str, Renderer], ...] = (
    ("plan_version_cleanup", plan),
    ("narrow_version_cleanup", plan),
    ("export_cleanup_policy", policy),
    ("list_deletion_history", history),
    ("audit_packages", audit),
    ("check_image_integrity", integrity),
    ("check_token", token),
    ("list_*", listing),
    ("get_*", details),
    ("delete_*", outcome),
    ("restore_*", outcome),
    ("apply_version_cleanup", outcome),
)

"""Settings, read once at start-up: defaults < TOML file < environment < command-line flags.

Usage::

    settings = load_settings(config_path=Path("config.toml"), read_only=True)

Every key of the TOML file is documented in `config.example.toml`; unknown keys are an error, so a typo
never silently turns a safety setting off.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import shutil
import stat
import subprocess
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from github_packages_mcp.durations import WholeDays
from github_packages_mcp.spelling import closest

__all__ = [
    "CONFIG_ENV",
    "GITHUB_MUTATION_INTERVAL",
    "MUTATION_INTERVAL_ENV",
    "SELECTION_ENV",
    "TOKEN_ENV",
    "TOOLSETS",
    "ConfigError",
    "ConfirmationMode",
    "Settings",
    "Toolset",
    "is_loopback",
    "load_settings",
    "redis_url_problem",
    "registry_for",
    "secret_problem",
]

ConfirmationMode = Literal["auto", "elicitation", "token"]
Toolset = Literal["read", "delete", "restore", "cleanup", "audit"]
TOOLSETS: tuple[Toolset, ...] = ("read", "delete", "restore", "cleanup", "audit")

CONFIG_ENV = "GITHUB_PACKAGES_MCP_CONFIG"
TOKEN_ENV = ("GITHUB_TOKEN", "GITHUB_PERSONAL_ACCESS_TOKEN")  # the first that is set wins
MUTATION_INTERVAL_ENV = "GITHUB_PACKAGES_MCP_MUTATION_INTERVAL_SECONDS"
GITHUB_MUTATION_INTERVAL = 1.0  # seconds: GitHub asks for about one between mutating requests
log = logging.getLogger("github_packages_mcp")
# Environment variable -> settings key.
_ENV_KEYS: tuple[tuple[str, str], ...] = (
    *((variable, "token") for variable in TOKEN_ENV),
    ("GITHUB_API_URL", "api_url"),
    ("GITHUB_REGISTRY_URL", "registry_url"),
    ("GITHUB_PACKAGES_MCP_BEARER_SECRET", "http_bearer_secret"),
    ("GITHUB_PACKAGES_MCP_SHARED_SECRET", "shared_secret"),
    ("GITHUB_PACKAGES_MCP_HTTP_STATELESS", "http_stateless"),
    ("GITHUB_PACKAGES_MCP_STATE_URL", "state_url"),
    (MUTATION_INTERVAL_ENV, "mutation_interval_seconds"),
)
# Which tools to offer, named as GitHub's own MCP server names them (for Docker and hosted setups, where flags are
# awkward). Read with --sandbox too: they choose tools, not which GitHub is reached.
SELECTION_ENV = ("GITHUB_TOOLSETS", "GITHUB_TOOLS", "GITHUB_READ_ONLY")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


GITHUB_API = "https://api.github.com"
GHCR = "https://ghcr.io"
_GHE_COM_API = re.compile(r"api\.([a-z0-9-]+)\.ghe\.com")


def registry_for(api_url: str) -> str | None:
    """The container registry beside a REST API, so the token is only ever sent where it belongs.

    GitHub.com: ghcr.io. GitHub Enterprise Server (`https://HOST/api/v3`): `https://containers.HOST`, its
    registry under subdomain isolation, which the Container registry requires. GHE.com (`api.SUBDOMAIN.ghe.com`):
    `https://containers.SUBDOMAIN.ghe.com` (GitHub's docs on data residency, "URL differences"). Any other API
    (a sandbox, a proxy) keeps the registry at the API's own address: never ghcr.io, where a token of another
    GitHub does not belong. None when `api_url` is no http(s) URL (its own validation says so).
    """
    parts = urlsplit(api_url.strip().rstrip("/"))
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return None
    if host == "api.github.com":
        return GHCR
    if match := _GHE_COM_API.fullmatch(host):
        return f"https://containers.{match.group(1)}.ghe.com"
    if parts.path == "/api/v3" and not is_loopback(host):
        return f"https://containers.{host}"
    return api_url.strip().rstrip("/")


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to change."""


# The characters a secret may hold, besides printable ASCII (`!` to `~`), are named when they are found: never
# the secret, nor any part of it, only what kind of character is wrong.
_CHARACTER_NAMES = {
    "\r": "a carriage return (CR)",
    "\n": "a line feed (LF)",
    "\t": "a tab",
    "\x00": "a NUL character",
    " ": "a space",
}
_SECRET_RULES = {
    "token": "a GitHub token must be printable ASCII without spaces, as an HTTP header carries it",
    "http_bearer_secret": "clients send the bearer secret in an HTTP header: printable ASCII without spaces",
    "shared_secret": "the shared secret must be printable ASCII (spaces inside are allowed)",
}


def secret_problem(value: str, *, spaces_inside: bool = False) -> str | None:
    """What makes a token or secret unusable in an HTTP header, such as "contains a carriage return (CR)"; None
    when it is printable ASCII without spaces (with `spaces_inside`, spaces are allowed too).

    The answer names kinds of characters only, never the value or any part of it.
    """
    found: list[str] = []
    for char in value:
        if "!" <= char <= "~" or (spaces_inside and char == " "):
            continue
        name = _CHARACTER_NAMES.get(char) or (
            "a control character" if char < " " or char == "\x7f" else "a non-ASCII character"
        )
        if name not in found:
            found.append(name)
    if not found:
        return None
    return "contains " + (found[0] if len(found) == 1 else f"{', '.join(found[:-1])} and {found[-1]}")


class Settings(BaseModel):
    """Everything the server needs to know, validated and frozen."""

    # Inputs never appear in validation errors: they may be the token.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    token: SecretStr | None = None
    api_url: str = GITHUB_API
    # The container registry, read by cleanups (with the token) to keep what multi-arch images need. Unset, it
    # is derived from api_url (`registry_for`): ghcr.io for GitHub.com, https://containers.HOST for GHES.
    registry_url: str = GHCR
    api_version: str = "2022-11-28"
    read_only: bool = False
    toolsets: tuple[Toolset, ...] = TOOLSETS
    tools: tuple[str, ...] | None = None
    # At start-up, ask GitHub for a classic token's scopes and list only the tools it can use.
    hide_unusable_tools: bool = True
    full_results: bool = False
    confirmation: ConfirmationMode = "auto"
    confirmation_ttl_seconds: int = Field(default=300, ge=10, le=3600)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    connect_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    # GitHub's secondary limits allow 100 concurrent requests; a small number keeps bursts gentle.
    max_concurrency: int = Field(default=4, ge=1, le=100)
    # GitHub asks for about one second between mutating requests; enterprise limits may allow less.
    mutation_interval_seconds: float = Field(default=GITHUB_MUTATION_INTERVAL, ge=0, le=60)
    max_retries: int = Field(default=3, ge=0, le=10)
    retry_backoff_seconds: float = Field(default=0.5, ge=0, le=60)
    max_rate_limit_wait_seconds: float = Field(default=60.0, ge=0, le=3600)
    cache_max_entries: int = Field(default=1000, ge=0, le=100_000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    transport: Literal["stdio", "http"] = "stdio"
    # Streamable HTTP (--transport http). Loopback by default; any other address requires authentication.
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    http_path: str = Field(default="/mcp", pattern=r"^/[A-Za-z0-9._~/-]*$")
    # "bearer": clients send `Authorization: Bearer <http_bearer_secret>`; the GitHub token stays on the server.
    # "github": each client sends its own GitHub token as the bearer, used for that client's calls only.
    http_auth: Literal["none", "bearer", "github"] = "none"
    http_bearer_secret: SecretStr | None = None
    # Host names clients use to reach the server, besides loopback (DNS-rebinding protection checks Host).
    http_allowed_hosts: tuple[str, ...] = ()
    # The URL clients use for the MCP endpoint, when it differs from http://http_host:http_port (a proxy).
    public_url: str | None = None
    # false: MCP sessions (Mcp-Session-Id), so handshake-era clients get confirmation forms and their cancellations
    # reach the running call; a load balancer must keep each session on one replica. true: no session, any replica
    # answers any request, but forms then need the 2026-07-28 protocol (server/transports.py).
    http_stateless: bool = False
    # With sessions: at most this many open at once (one more is refused with 503; about 40 KB each), and a session is
    # closed after this many seconds without a request in flight (an open GET stream is one).
    http_max_sessions: int = Field(default=1000, ge=1, le=100_000)
    http_session_idle_seconds: float = Field(default=1800.0, gt=0, le=86_400)
    # With http_auth = "github", each caller's share (server/http_caps.py; 429 beyond): sessions open at once, and
    # requests being answered at once (a session's GET stream, a call), so no caller can take what another needs.
    http_max_sessions_per_credential: int = Field(default=20, ge=1, le=100_000)
    http_max_streams_per_credential: int = Field(default=10, ge=1, le=100_000)
    # Slow clients (server/transports.py): seconds a client has to send a whole request, from connecting or from
    # the first byte of its next one; connections and requests served at once (uvicorn's limit_concurrency, 503
    # beyond; stalled connections make room); seconds an idle kept-alive connection stays open.
    http_read_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    http_limit_concurrency: int = Field(default=100, ge=2, le=100_000)
    http_keep_alive_seconds: int = Field(default=5, ge=1, le=300)
    # Shared by every replica: signs cleanup plans and confirmation tokens and seals the SDK's request state, so
    # each verifies on any replica. Without it, the key in journal_dir (`key`, one machine, survives restarts).
    shared_secret: SecretStr | None = None
    # Cleanup plans, the journal of every delete and restore (JSON lines), the registry manifests cleanups have read
    # (`manifests/`; all three in Redis with state_url), and the server's key (`key`, made once) that signs plans,
    # journal lines and confirmation tokens without shared_secret.
    journal_dir: Path = Field(default_factory=lambda: _state_home() / "github-packages-mcp")
    # Days a cleanup plan can be applied; then it must be made again (its decisions may no longer hold). A number or
    # whole days as a duration (`2w`), as the tools take them.
    plan_ttl_days: Annotated[WholeDays, Field(le=90)] = 7
    # What replicas share (state/redis.py): redis://HOST:PORT/DB, rediss:// or unix://; Valkey too. Unset: files
    # under journal_dir and this process's memory. A secret: its URL may carry a password.
    state_url: SecretStr | None = None
    # The namespace of every key and channel in state_url's Redis (`<state_prefix>:...`): one per deployment sharing
    # a Redis, so neither sees the other's spent tokens, journal, cancellations or manifests.
    state_prefix: str = Field(default="github-packages-mcp", pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")

    @model_validator(mode="before")
    @classmethod
    def _registry_beside_the_api(cls, data: Any) -> Any:
        """Derive `registry_url` from `api_url` when it is not set (`registry_for`)."""
        if isinstance(data, dict) and data.get("registry_url") is None:
            data = {key: value for key, value in data.items() if key != "registry_url"}
            api_url = data.get("api_url", GITHUB_API)
            if isinstance(api_url, str) and (registry := registry_for(api_url)) is not None:
                data["registry_url"] = registry
        return data

    @model_validator(mode="after")
    def _no_ghcr_for_another_github(self) -> Settings:
        """Refuse to send the token of another GitHub (GHES, GHE.com, a sandbox) to GitHub.com's registry."""
        if urlsplit(self.registry_url).hostname == "ghcr.io" and urlsplit(self.api_url).hostname != "api.github.com":
            raise ValueError(
                f"registry_url {self.registry_url} is GitHub.com's registry, but api_url is {self.api_url}: the "
                "token would be sent to ghcr.io. Set registry_url to this GitHub's registry (GitHub Enterprise "
                "Server: https://containers.HOST) or leave it unset to derive it"
            )
        return self

    @field_validator("token", "http_bearer_secret", "shared_secret", mode="before")
    @classmethod
    def _header_safe_secret(cls, value: Any, info: ValidationInfo) -> Any:
        """Surrounding whitespace removed (an env file saved with CRLF, a pasted trailing space); what remains
        must be printable ASCII, or httpx2 would refuse the header and echo it in its error. Blank is unset."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str):
            return value  # None, or a type pydantic refuses by itself
        value = value.strip()
        if not value:
            return None
        if problem := secret_problem(value, spaces_inside=info.field_name == "shared_secret"):
            rule = _SECRET_RULES[info.field_name or "token"]
            raise PydanticCustomError(
                "secret_characters",
                "{problem}: {rule}. Whitespace around it is removed, but nothing inside it; set it again",
                {"problem": problem, "rule": rule},
            )
        return value

    @field_validator("toolsets", mode="before")
    @classmethod
    def _known_toolsets(cls, value: Any) -> Any:
        """`all` for every toolset; unknown names said by name (the model hides inputs, but these are no secret)."""
        if not isinstance(value, list | tuple) or not all(isinstance(name, str) for name in value):
            return value  # pydantic refuses it by itself
        names = tuple(name.strip() for name in value)
        if "all" in names:
            return TOOLSETS
        if unknown := [name for name in names if name not in TOOLSETS]:
            raise PydanticCustomError(
                "unknown_toolsets",
                "unknown toolset {unknown}; the toolsets are {known} (or all)",
                {"unknown": ", ".join(repr(name[:40]) for name in unknown), "known": ", ".join(TOOLSETS)},
            )
        return names

    @field_validator("state_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        """A Redis URL that reads as one: scheme, host, port and database where they belong. What is wrong is said
        without any part of the URL, which may hold a password."""
        if value is not None and (problem := redis_url_problem(value.get_secret_value())):
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _replicas_share_a_key(self) -> Settings:
        """Replicas sharing state must sign with one key, or a plan one saved would not verify on another."""
        if self.state_url is not None and self.shared_secret is None:
            raise ValueError(
                "state_url (GITHUB_PACKAGES_MCP_STATE_URL) needs shared_secret (GITHUB_PACKAGES_MCP_SHARED_SECRET): "
                "every replica must sign plans, journal lines and confirmation tokens with the same key"
            )
        return self

    @field_validator("api_url", "registry_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://api.github.com or https://HOST/api/v3")
        # The token travels in a header: plain http would expose it on the wire, except to this machine.
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError("must use https (plain http is only accepted for 127.0.0.1 or localhost)")
        return value.rstrip("/")

    @property
    def passes_callers_tokens(self) -> bool:
        """Whether each HTTP caller's own GitHub token acts for their calls (http_auth = "github"), not `token`."""
        return self.http_auth == "github"

    def with_changes(self, **changes: Any) -> Settings:
        """A validated copy with some values changed (unlike `model_copy`, which skips validation).

        A registry that is the one derived from the old `api_url` follows a new `api_url`.
        """
        values = self.model_dump()
        if "api_url" in changes and "registry_url" not in changes and self.registry_url == registry_for(self.api_url):
            del values["registry_url"]
        return Settings.model_validate({**values, **changes})

    def require_token(self) -> str:
        """The token's value.

        Raises:
            ConfigError: If no token is configured.
        """
        if self.token is None or not self.token.get_secret_value():
            raise ConfigError("no GitHub token")
        return self.token.get_secret_value()


_REDIS_DATABASE = re.compile(r"/?[0-9]*")
_UNREADABLE_REDIS_URL = (
    "cannot be read as redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (or rediss://, unix:///PATH); if the password "
    "holds '/', '?', '#', '@' or '%', percent-encode them (%2F, %3F, %23, %40, %25), e.g. "
    """python3 -c 'import getpass, urllib.parse; print(urllib.parse.quote(getpass.getpass(), safe=""))'"""
)


def redis_url_problem(url: str) -> str | None:
    """What keeps `url` from being read as a Redis URL, in words that hold no part of it; None when it reads well."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises when what precedes a password's '/', '?' or '#' reads as a port
    except ValueError:
        return _UNREADABLE_REDIS_URL
    if parts.scheme not in ("redis", "rediss", "unix"):
        return "must be a Redis URL: redis://HOST:PORT/DB, rediss://HOST:PORT/DB or unix:///PATH"
    if parts.scheme == "unix":
        return None
    # A password's '/', '?' or '#' ends the address early: what follows it (with the '@') reads as the path, query or
    # fragment.
    readable = parts.hostname and port != 0 and _REDIS_DATABASE.fullmatch(parts.path)
    if readable and "@" not in parts.query + parts.fragment:
        return None
    return _UNREADABLE_REDIS_URL


def _state_home() -> Path:
    """Where each OS keeps an application's state: XDG_STATE_HOME (~/.local/state) on Linux, ~/Library/Application
    Support on macOS, %LOCALAPPDATA% on Windows (`journal_dir` is `github-packages-mcp` in it)."""
    return Path(platformdirs.user_state_dir(appauthor=False, roaming=False))


def gh_host_for(api_url: str) -> str | None:
    """The host the GitHub CLI keeps a token for that `api_url` accepts: github.com for api.github.com, HOST for a
    GitHub Enterprise Server at `https://HOST/api/v3`, SUBDOMAIN.ghe.com for GHE.com; None for anything else (a
    sandbox, a proxy), to which no token of gh's belongs."""
    parts = urlsplit(api_url.strip().rstrip("/"))
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host:
        return None
    if host == "api.github.com":
        return "github.com"
    if match := _GHE_COM_API.fullmatch(host):
        return f"{match.group(1)}.ghe.com"
    return host if parts.path == "/api/v3" else None


def token_from_gh_cli(api_url: str) -> str | None:
    """The GitHub CLI's token for the host `api_url` belongs to (`gh auth token --hostname HOST`), when `gh` is
    installed and logged in there, else None: gh's token for one host is never sent to another."""
    gh, host = shutil.which("gh"), gh_host_for(api_url)
    if gh is None or host is None:
        return None
    try:
        command = [gh, "auth", "token", "--hostname", host]
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return None
    token = done.stdout.strip()
    return token if done.returncode == 0 and token and secret_problem(token) is None else None


def is_loopback(host: str) -> bool:
    """Whether a host name or address is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(
    config_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Merge the TOML file, the environment and explicit overrides (None values are ignored).

    Raises:
        ConfigError: If the file cannot be read or a value is invalid.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}  # where a setting came from, for errors: a file or an environment variable
    path = config_path or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    if path is not None:
        try:
            values.update(tomllib.loads(path.read_text(encoding="utf-8")))
            readable_by_all = path.stat().st_mode & stat.S_IROTH
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        sources.update(dict.fromkeys(values, f"in {path}"))
        secrets = sorted(key for key in ("token", "http_bearer_secret", "shared_secret", "state_url") if key in values)
        if secrets and readable_by_all:
            log.warning(
                "%s holds %s and every user of this machine can read it: chmod 600 %s, or use the environment",
                path, ", ".join(secrets), path,
            )  # fmt: skip
    for variable, key in reversed(_ENV_KEYS):  # reversed: the first variable listed wins
        if env.get(variable, "").strip():  # a variable holding only a line ending or spaces is not set
            values[key], sources[key] = env[variable], f"from {variable}"
    for key, (variable, value) in _selection_from(env).items():
        values[key], sources[key] = value, f"from {variable}"
    given = {key: value for key, value in overrides.items() if value is not None}
    values.update(given)
    for key in given:
        sources.pop(key, None)
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            _describe(error["loc"], _with_suggestion(error["type"], error["loc"], error["msg"]), sources)
            for error in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None


def _selection_from(env: Mapping[str, str]) -> dict[str, tuple[str, Any]]:
    """The settings GITHUB_TOOLSETS, GITHUB_TOOLS and GITHUB_READ_ONLY set, with the variable each came from.

    Raises:
        ConfigError: If GITHUB_READ_ONLY is neither true nor false.
    """
    found: dict[str, tuple[str, Any]] = {}
    for variable, key in (("GITHUB_TOOLSETS", "toolsets"), ("GITHUB_TOOLS", "tools")):
        if text := env.get(variable, "").strip():
            found[key] = (variable, tuple(name.strip() for name in text.split(",") if name.strip()))
    if text := env.get("GITHUB_READ_ONLY", "").strip():
        if text.lower() not in _TRUE + _FALSE:
            raise ConfigError(
                f"GITHUB_READ_ONLY={text[:40]!r} is neither true nor false: set it to 1 or true to offer only the "
                "tools that read, or to 0 or false (also yes/no, on/off)"
            )
        found["read_only"] = ("GITHUB_READ_ONLY", text.lower() in _TRUE)
    return found


def _with_suggestion(kind: str, loc: tuple[int | str, ...], message: str) -> str:
    """An unknown key's message, with the known key it most resembles (`toolset` -> `toolsets`)."""
    if kind != "extra_forbidden" or not loc:
        return message
    close = closest(str(loc[0]), Settings.model_fields)
    return f"not a setting; did you mean {close!r}?" if close else "not a setting (see config.example.toml)"


def _describe(loc: tuple[int | str, ...], message: str, sources: Mapping[str, str]) -> str:
    """One problem of a configuration: the key, where it was set when that is known, and what is wrong."""
    key = ".".join(map(str, loc)) or "config"
    source = sources.get(str(loc[0])) if loc else None
    return f"{key} ({source}): {message}" if source else f"{key}: {message}"

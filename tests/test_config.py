"""Settings: file < environment < flags, strict keys, https unless loopback, the token kept secret, the registry
beside the API."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from github_packages_mcp.config import ConfigError, Settings, load_settings
from tests.helpers import STATE_HOME

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"


def test_the_example_file_documents_every_setting_with_its_default() -> None:
    documented = tomllib.loads(EXAMPLE.read_text())
    # Shown as commented examples: secrets, and values with no fixed default.
    # registry_url has no fixed default: it is derived from api_url.
    without_default = {
        "token", "tools", "journal_dir", "http_bearer_secret", "public_url", "shared_secret", "registry_url",
        "state_url",
    }  # fmt: skip
    assert set(documented) | without_default == set(Settings.model_fields)
    assert all(f"# {key} = " in EXAMPLE.read_text() for key in without_default)
    defaults = Settings()
    assert all(
        getattr(defaults, key) == (tuple(v) if isinstance(v := value, list) else v) for key, value in documented.items()
    )
    assert load_settings(EXAMPLE, env={}) == defaults


def test_environment_beats_file_and_flags_beat_both(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('token = "from-file"\napi_url = "https://ghe.example/api/v3"\nread_only = false\n')
    env = {"GITHUB_TOKEN": "from-env", "GITHUB_PERSONAL_ACCESS_TOKEN": "second"}
    settings = load_settings(config, env=env, read_only=True)
    assert settings.require_token() == "from-env"
    assert settings.api_url == "https://ghe.example/api/v3"
    assert settings.read_only is True
    assert load_settings(config, env={"GITHUB_PERSONAL_ACCESS_TOKEN": "pat"}).require_token() == "pat"
    assert load_settings(env={"GITHUB_PACKAGES_MCP_CONFIG": str(config)}).require_token() == "from-file"


def test_the_mutation_interval_can_be_set_in_the_environment(tmp_path: Path) -> None:
    """For a client of a sandbox served alone (`sandbox` prints the variable), or a GitHub with higher limits."""
    config = tmp_path / "c.toml"
    config.write_text("mutation_interval_seconds = 2.0\n")
    assert load_settings(env={}).mutation_interval_seconds == 1.0
    assert (
        load_settings(config, env={"GITHUB_PACKAGES_MCP_MUTATION_INTERVAL_SECONDS": "0.05"}).mutation_interval_seconds
        == 0.05
    )
    with pytest.raises(
        ConfigError, match=r"mutation_interval_seconds \(from GITHUB_PACKAGES_MCP_MUTATION_INTERVAL_SECONDS\)"
    ):
        load_settings(env={"GITHUB_PACKAGES_MCP_MUTATION_INTERVAL_SECONDS": "soon"})


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("read_onyl = true", "read_onyl"),
        ('confirmation = "never"', "confirmation"),
        ('api_url = "http://api.github.com"', "must use https"),
        ('api_url = "ftp://x"', "http(s) URL"),
        ("confirmation_ttl_seconds = 1", "confirmation_ttl_seconds"),
        ('plan_ttl_days = "a fortnight"', "plan_ttl_days (in "),
        ('plan_ttl_days = "36h"', "plan_ttl_days (in "),
        ('plan_ttl_days = "13w"', "less than or equal to 90"),
        ("not toml", "cannot read config file"),
    ],
)
def test_bad_configuration_is_an_error_naming_the_key(tmp_path: Path, text: str, says: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert says in str(caught.value)


def test_plan_ttl_days_takes_whole_days_as_a_duration_as_the_tools_do(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    for text, days in (('"2w"', 14), ('"30d"', 30), ("7", 7)):
        config.write_text(f"plan_ttl_days = {text}\n")
        assert load_settings(config, env={}).plan_ttl_days == days


def test_plain_http_is_accepted_for_loopback_only() -> None:
    for url in ("http://127.0.0.1:8787", "http://localhost:1", "http://[::1]:2"):
        assert Settings(api_url=url).api_url == url
    assert Settings(api_url="https://ghe.example/api/v3/").api_url == "https://ghe.example/api/v3"


def test_the_token_is_never_shown() -> None:
    settings = Settings(token="ghp_secret_value")
    assert "ghp_secret_value" not in repr(settings) + str(settings) + settings.model_dump_json()
    with pytest.raises(ConfigError, match="no GitHub token"):
        Settings().require_token()
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"GITHUB_TOKEN": "ghp_secret_value"}, confirmation="bad")
    assert "ghp_secret_value" not in str(caught.value)


def test_a_config_file_with_a_token_that_others_can_read_gets_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('token = "ghp_in_a_file"\n')
    config.chmod(0o644)
    load_settings(config, env={})
    config.chmod(0o600)
    load_settings(config, env={})
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "every user of this machine can read it: chmod 600" in warnings[0]
    assert "ghp_in_a_file" not in warnings[0]


@pytest.mark.parametrize(
    ("api_url", "registry"),
    [
        ("https://api.github.com", "https://ghcr.io"),
        ("https://api.github.com/", "https://ghcr.io"),
        # GitHub Enterprise Server: the Container registry lives at containers.HOST (subdomain isolation).
        ("https://github.example.com/api/v3", "https://containers.github.example.com"),
        ("https://GitHub.Example.com/api/v3/", "https://containers.github.example.com"),
        # GHE.com (data residency): GitHub's docs put the registry at containers.SUBDOMAIN.ghe.com.
        ("https://api.octocorp.ghe.com", "https://containers.octocorp.ghe.com"),
        # Anything else stays with the API's own address: a sandbox, a proxy, never ghcr.io.
        ("http://127.0.0.1:8787", "http://127.0.0.1:8787"),
        ("http://localhost:8787/api/v3", "http://localhost:8787/api/v3"),
        ("https://proxy.example.com/github", "https://proxy.example.com/github"),
    ],
)
def test_the_registry_is_derived_from_the_api_url_when_unset(api_url: str, registry: str) -> None:
    assert Settings(api_url=api_url).registry_url == registry
    assert load_settings(env={"GITHUB_API_URL": api_url}).registry_url == registry


def test_the_registry_url_can_be_set_in_the_file_or_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('api_url = "https://ghe.example/api/v3"\nregistry_url = "https://registry.ghe.example/"\n')
    assert load_settings(config, env={}).registry_url == "https://registry.ghe.example"
    env = {"GITHUB_REGISTRY_URL": "https://other.ghe.example"}
    assert load_settings(config, env=env).registry_url == "https://other.ghe.example"
    ghes = {"GITHUB_API_URL": "https://ghe.example/api/v3"}
    assert load_settings(env=ghes | env).registry_url == "https://other.ghe.example"
    assert Settings().registry_url == "https://ghcr.io"


@pytest.mark.parametrize(
    "api_url", ["https://ghe.example/api/v3", "https://api.octocorp.ghe.com", "http://127.0.0.1:1"]
)
def test_a_token_of_another_github_is_never_sent_to_ghcr(api_url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"GITHUB_API_URL": api_url, "GITHUB_REGISTRY_URL": "https://ghcr.io"})
    assert "the token would be sent to ghcr.io" in str(caught.value)
    # Moving a GitHub.com configuration to another API moves the derived registry with it.
    assert Settings().with_changes(api_url=api_url).registry_url != "https://ghcr.io"


def test_an_explicit_registry_stays_when_the_api_url_changes() -> None:
    settings = Settings(api_url="https://ghe.example/api/v3", registry_url="https://registry.ghe.example")
    assert settings.with_changes(api_url="https://ghe2.example/api/v3").registry_url == "https://registry.ghe.example"
    derived = Settings(api_url="https://ghe.example/api/v3")
    assert derived.with_changes(api_url="https://ghe2.example/api/v3").registry_url == "https://containers.ghe2.example"


def test_an_invalid_api_url_is_one_error_not_two() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"GITHUB_API_URL": "ftp://x"})
    assert "api_url" in str(caught.value)
    assert "registry_url" not in str(caught.value)


# --- Tokens and secrets: whitespace around them removed, anything a header cannot carry refused, never shown. ---

TOKEN = "ghp_Qz9Xw7Vb3Nm5Lk1Jh8Gf6Ds4Ap2Ty0Ur"


def shows_no_part_of(secret: str, text: str) -> bool:
    """Whether `text` holds no four characters in a row of the secret's printable part."""
    printable = "".join(char for char in secret if "!" <= char <= "~")
    return not any(printable[i : i + 4] in text for i in range(len(printable) - 3))


@pytest.mark.parametrize(
    "value", [f"{TOKEN}\r\n", f"{TOKEN}\r", f"{TOKEN} ", f" {TOKEN}\n", f"\t{TOKEN}\r\n ", f"{TOKEN}\u00a0"]
)
def test_whitespace_around_a_token_is_removed(tmp_path: Path, value: str) -> None:
    assert load_settings(env={"GITHUB_TOKEN": value}).require_token() == TOKEN
    config = tmp_path / "c.toml"
    config.write_text(f"token = {json.dumps(value)}\n")
    config.chmod(0o600)
    assert load_settings(config, env={}).require_token() == TOKEN


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("ghp_Qz9Xw7Vb3Nm5\tLk1Jh8Gf6Ds4Ap2Ty0Ur", "contains a tab"),
        ("ghp_Qz9Xw7Vb3Nm5 Lk1Jh8Gf6Ds4Ap2Ty0Ur", "contains a space"),
        ("ghp_Qz9Xw7Vb3Nm5\rLk1Jh8Gf6Ds4Ap2Ty0Ur", "contains a carriage return (CR)"),
        ("ghp_Qz9Xw7Vb3Nm5\nLk1Jh8Gf6Ds4Ap2Ty0Ur", "contains a line feed (LF)"),
        (f"{TOKEN}\x00", "contains a NUL character"),
        (f"{TOKEN}\x7f", "contains a control character"),
        ("ghp_Qz9Xw7Vb3Nm5ü Lk1Jh8Gf6Ds4Ap2Ty0Ur", "contains a non-ASCII character and a space"),
        ("ghp_Qz9Xw7Vb3Nm5\u00a0Lk1Jh8Gf6Ds4Ap2Ty0Ur", "contains a non-ASCII character"),  # a no-break space
    ],
)
def test_a_token_a_header_cannot_carry_is_refused_without_showing_it(tmp_path: Path, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as from_env:
        load_settings(env={"GITHUB_TOKEN": value})
    config = tmp_path / "c.toml"
    config.write_text(f"token = {json.dumps(value)}\n")  # a TOML basic string takes JSON's escapes
    config.chmod(0o600)
    with pytest.raises(ConfigError) as from_file:
        load_settings(config, env={})
    assert str(from_env.value).startswith(f"invalid configuration: token (from GITHUB_TOKEN): {says}: ")
    assert str(from_file.value).startswith(f"invalid configuration: token (in {config}): {says}: ")
    assert "a GitHub token must be printable ASCII without spaces" in str(from_env.value)
    for caught in (from_env, from_file):
        assert shows_no_part_of(value, str(caught.value))
        assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no chain holding it
    with pytest.raises(ValidationError) as direct:  # constructed in code: pydantic's error hides the input
        Settings(token=value)
    assert shows_no_part_of(value, str(direct.value))
    assert says in str(direct.value)


def test_a_blank_token_variable_is_not_set() -> None:
    env = {"GITHUB_TOKEN": "\r\n", "GITHUB_PERSONAL_ACCESS_TOKEN": f"{TOKEN}\r\n"}
    assert load_settings(env=env).require_token() == TOKEN
    assert load_settings(env={"GITHUB_TOKEN": " \r\n"}).token is None
    assert Settings(token=" ").token is None


def test_the_bearer_and_shared_secrets_are_cleaned_and_checked_like_the_token() -> None:
    bearer, shared = "GITHUB_PACKAGES_MCP_BEARER_SECRET", "GITHUB_PACKAGES_MCP_SHARED_SECRET"
    settings = load_settings(env={bearer: "s3cret-for-the-endpoint\r\n", shared: " one secret for the replicas\r\n"})
    assert settings.http_bearer_secret is not None and settings.shared_secret is not None
    assert settings.http_bearer_secret.get_secret_value() == "s3cret-for-the-endpoint"
    # The shared secret never travels in a header: a passphrase may hold spaces, but no control character.
    assert settings.shared_secret.get_secret_value() == "one secret for the replicas"
    with pytest.raises(ConfigError) as caught:
        load_settings(env={bearer: "s3cret for-the-endpoint"})
    assert str(caught.value).startswith(f"invalid configuration: http_bearer_secret (from {bearer}): contains a space")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load_settings(env={shared: "one secret\x1bfor the replicas"})
    assert str(caught.value).startswith(
        f"invalid configuration: shared_secret (from {shared}): contains a control character"
    )
    assert "replicas" not in str(caught.value)


def test_a_mistyped_key_suggests_the_right_one(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('toolset = ["read"]\nconfirmaton = "token"\nfoo = 1\n')
    with pytest.raises(ConfigError) as error:
        load_settings(config, env={})
    message = str(error.value)
    assert "toolset (in " in message and "did you mean 'toolsets'?" in message
    assert "did you mean 'confirmation'?" in message
    assert "foo (in " in message and "not a setting (see config.example.toml)" in message


def test_a_state_url_must_be_redis_and_come_with_the_shared_secret() -> None:
    with pytest.raises(ConfigError, match=r"state_url .* needs shared_secret"):
        load_settings(env={"GITHUB_PACKAGES_MCP_STATE_URL": "redis://127.0.0.1:6379/0"})
    with pytest.raises(ConfigError, match="must be a Redis URL"):
        load_settings(env={"GITHUB_PACKAGES_MCP_STATE_URL": "http://x", "GITHUB_PACKAGES_MCP_SHARED_SECRET": "s"})
    with_password = {
        "GITHUB_PACKAGES_MCP_STATE_URL": "redis://:hunter2@db:6379/0",
        "GITHUB_PACKAGES_MCP_SHARED_SECRET": "s",
    }
    assert "hunter2" not in repr(load_settings(env=with_password))


# A password holding what ends a URL's address early, or that reads as anything but a port: none of it may be shown.
@pytest.mark.parametrize(
    "url",
    [
        "redis://:hunt/er2x@db:6379/0",
        "redis://:hunt#er2x@db:6379/0",
        "redis://:hunt?er2x@db:6379/0",
        "redis://:/hunter2x@db:6379/0",  # the address ends before the password starts
        "redis://:hunt[er2x@db:6379/0",  # no URL at all
        "redis://:hunter2x@db:port-hunter2x/0",
        "rediss://user:hunt/er2x@db/0",
    ],
)
def test_a_state_url_that_does_not_read_is_an_error_that_shows_no_part_of_it(url: str) -> None:
    env = {"GITHUB_PACKAGES_MCP_STATE_URL": url, "GITHUB_PACKAGES_MCP_SHARED_SECRET": "s"}
    with pytest.raises(ConfigError) as error:
        load_settings(env=env)
    message = str(error.value)
    assert message.startswith("invalid configuration: state_url (from GITHUB_PACKAGES_MCP_STATE_URL): ")
    assert "percent-encode them (%2F, %3F, %23, %40, %25)" in message
    assert not any(piece in message for piece in ("hunt", "er2x", "hunter2x", "@db"))


@pytest.mark.parametrize(
    "url",
    ["redis://:hunt%2Fer%23x%3F%40y%25@db:6379/0", "redis://user:p:ss@db", "rediss://db:6380", "unix:///run/r.sock"],
)
def test_a_percent_encoded_password_and_the_other_redis_urls_are_accepted(url: str) -> None:
    env = {"GITHUB_PACKAGES_MCP_STATE_URL": url, "GITHUB_PACKAGES_MCP_SHARED_SECRET": "s"}
    assert load_settings(env=env).state_url is not None


def test_the_state_prefix_is_a_plain_name() -> None:
    assert Settings().state_prefix == "github-packages-mcp"
    assert Settings(state_prefix="team-a:staging").state_prefix == "team-a:staging"
    for bad in ("", "team a", "team*", ":leading", "x" * 65):
        with pytest.raises(ValidationError):
            Settings(state_prefix=bad)


def test_what_the_tests_build_keeps_its_state_out_of_the_real_home() -> None:
    # A server built without a journal_dir writes to the OS's state directory: in the tests, theirs (conftest.py).
    assert Settings().journal_dir.is_relative_to(STATE_HOME)

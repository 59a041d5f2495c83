"""Where people install the server from: the MCP Registry entry (`server.json`, valid against the registry's schema
and in step with the package), the `mcp-name:` marker the registry looks for in the PyPI description, and the
Docker image's label. The entry's HTTP package is started as it describes and answered over MCP."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import tomllib
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import SecretStr

from github_packages_mcp import __version__
from github_packages_mcp.config import Settings, load_settings
from tests.helpers import COMMAND, clean_env, ok
from tests.server.http_serving import http_client

ROOT = Path(__file__).parent.parent
SERVER = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
SCHEMA = json.loads((ROOT / "tests" / "data" / "server.schema.json").read_text(encoding="utf-8"))
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PACKAGES: list[dict[str, Any]] = SERVER["packages"]
# The settings whose values are secrets: a variable that sets one must be marked isSecret, and no other may be.
SECRET_SETTINGS = {
    name
    for name, field in Settings.model_fields.items()
    if SecretStr in (field.annotation, *typing.get_args(field.annotation))
}
TEMPLATE = re.compile(r"\{([^{}]+)\}")


def package_id(package: dict[str, Any]) -> str:
    return f"{package['registryType']}-{package['transport']['type']}"


VARIABLES = [
    pytest.param(variable, id=f"{package_id(package)}-{variable['name']}")
    for package in PACKAGES
    for variable in package["environmentVariables"]
]


class ReadingRecorded(dict[str, str]):
    """An environment that remembers every variable looked up in it."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)


def test_server_json_is_valid_against_the_registry_schema() -> None:
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    problems = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(SERVER)
    ]
    assert problems == []
    assert SERVER["$schema"] == SCHEMA["$id"]  # the copy in tests/data is the schema the file names
    # The schema does hold: the registry's own rules on names and package versions fail the same file.
    assert not validator.is_valid({**SERVER, "name": PROJECT["name"]})
    assert not validator.is_valid({**SERVER, "packages": [{**PACKAGES[0], "version": "latest"}]})


def test_server_json_versions_are_the_package_version() -> None:
    assert SERVER["version"] == __version__
    assert [package["version"] for package in PACKAGES] == [__version__] * len(PACKAGES)


def test_server_json_names_this_pypi_package_under_a_github_namespace() -> None:
    # GitHub-authenticated publishing grants io.github.<account>/*; the server's name after the slash is the project's.
    assert re.fullmatch(r"io\.github\.[A-Za-z0-9-]+/" + re.escape(PROJECT["name"]), SERVER["name"])
    assert {(package["registryType"], package["identifier"]) for package in PACKAGES} == {("pypi", PROJECT["name"])}
    assert sorted(package["transport"]["type"] for package in PACKAGES) == ["stdio", "streamable-http"]


def test_the_readme_carries_the_mcp_name_pypi_shows() -> None:
    # The registry confirms a PyPI package by finding `mcp-name: <name>` in its description, which is the README.
    assert PROJECT["readme"] == "README.md"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.findall(r"^<!-- mcp-name: (\S+) -->$", readme, re.M) == [SERVER["name"]]


def test_the_docker_image_is_labelled_with_the_server_name() -> None:
    # The registry confirms an OCI image by this label, should the image be listed as a package.
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.findall(r'io\.modelcontextprotocol\.server\.name="([^"]+)"', dockerfile) == [SERVER["name"]]


def test_every_variable_the_server_reads_is_described() -> None:
    # load_settings is where the server reads its environment (XDG_STATE_HOME aside, read by platformdirs).
    env = ReadingRecorded()
    load_settings(env=env)
    described = {variable["name"] for package in PACKAGES for variable in package["environmentVariables"]}
    assert env.read == described


@pytest.mark.parametrize("variable", VARIABLES)
def test_each_described_variable_sets_a_setting_and_secrets_are_marked(
    variable: dict[str, Any], tmp_path: Path
) -> None:
    if variable.get("format") == "filepath":  # the configuration file
        config = tmp_path / "config.toml"
        config.write_text("read_only = true\n")
        value = str(config)
    elif variable.get("format") == "boolean":
        value = "false" if variable.get("default") == "true" else "true"
    else:
        value = variable.get("placeholder") or "a-secret-of-24-characters"
    # The state URL needs the shared secret beside it (every replica signs with one key).
    base = {"GITHUB_PACKAGES_MCP_SHARED_SECRET": "one secret"} if variable["name"].endswith("STATE_URL") else {}
    before = load_settings(env=base).model_dump()
    after = load_settings(env={**base, variable["name"]: value}).model_dump()
    changed = {key for key in after if after[key] != before[key]}
    assert changed, f"{variable['name']}={value!r} changed no setting"
    assert variable.get("isSecret", False) == bool(changed & SECRET_SETTINGS)


@pytest.mark.parametrize("package", PACKAGES, ids=package_id)
def test_packages_follow_the_registry_checks_beyond_the_schema(package: dict[str, Any]) -> None:
    """What the registry's validator adds to the schema: a transport URL's {variables} are the package's argument
    names, value hints or environment variables; a flag's name is only the flag; no value repeats its flag."""
    arguments = [*package.get("runtimeArguments", []), *package.get("packageArguments", [])]
    known = {name for argument in arguments for name in (argument.get("name"), argument.get("valueHint")) if name}
    known |= {variable["name"] for variable in package["environmentVariables"]}
    assert set(TEMPLATE.findall(package["transport"].get("url", ""))) <= known
    for argument in arguments:
        if name := argument.get("name"):
            assert not re.search(r"[\s<>$]", name), name
            assert not [key for key in ("value", "default") if argument.get(key, "").startswith(name)], argument


def command_line(package: dict[str, Any], values: dict[str, str]) -> list[str]:
    """The arguments a client puts after the package's command: named ones as `--flag value`, each value fixed,
    given (by its value hint) or the default."""
    words: list[str] = []
    for argument in package.get("packageArguments", []):
        value = argument.get("value") or values.get(argument.get("valueHint", "")) or argument["default"]
        words += [argument["name"], value] if argument["type"] == "named" else [value]
    return words


@pytest.fixture
def http_package_served() -> Iterator[str]:
    """The streamable-HTTP package started as server.json describes it (plus --sandbox), on a free port; its URL."""
    package = next(package for package in PACKAGES if package["transport"]["type"] == "streamable-http")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        values = {"port": str(sock.getsockname()[1])}
    url = TEMPLATE.sub(lambda match: values[match.group(1)], package["transport"]["url"])
    process = subprocess.Popen(
        [*COMMAND, *command_line(package, values), "--sandbox"], env=clean_env(), stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", int(values["port"])), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the HTTP package did not start"
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.anyio
async def test_the_http_package_serves_mcp_at_its_url(http_package_served: str) -> None:
    async with http_client(http_package_served) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        listing = ok(await client.call_tool("list_my_packages", {"package_type": "container"}))
    assert "plan_version_cleanup" in names
    assert [item["name"] for item in listing["items"]] == ["hello-world"]

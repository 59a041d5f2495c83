"""What the sandbox tests share: GitHub's OpenAPI spec subset, schema validation, error checks and demo paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from github_packages_mcp.sandbox import DEMO_ORG

SPEC: dict[str, Any] = json.loads((Path(__file__).parent.parent / "data" / "github-packages.openapi.json").read_text())
WEB_API = f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi"
HELLO = "/user/packages/container/hello-world"


def resolve(node: Any) -> Any:
    """Inline every local `$ref` (the spec subset has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = SPEC
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolve(target)
        return {key: resolve(value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item) for item in node]
    return node


def validate(schema: Any, body: Any) -> None:
    OAS30Validator(resolve(schema), format_checker=oas30_format_checker).validate(body)


def assert_error(response: httpx2.Response, status: int, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    validate(SPEC["components"]["schemas"]["basic-error"], body)
    assert body["status"] == str(status)
    assert body["documentation_url"].startswith("https://docs.github.com/rest")
    if message is not None:
        assert body["message"] == message

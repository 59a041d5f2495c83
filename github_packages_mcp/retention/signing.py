"""What cleanups keep (plans, the journal) as the server signs it: canonical JSON with `mac`, the HMAC-SHA256 under
the server's key, checked before anything is believed; and the time format both keep. Where it is kept is the
state's business (state/)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["canonical", "signed", "timestamp", "verified"]

Signed = TypeVar("Signed", bound=BaseModel)


def timestamp(moment: datetime) -> str:
    """GitHub's time format, to the second, as plans and the journal keep times: `2026-12-02T12:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical(content: dict[str, Any]) -> bytes:
    """The one JSON form of `content` that is signed and hashed: sorted keys, no spaces."""
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def signed(content: dict[str, Any], key: bytes) -> bytes:
    """`content` as canonical JSON with `mac`, the HMAC-SHA256 under `key` of the rest."""
    return canonical({**content, "mac": _mac(key, content)})


def verified(text: str, key: bytes, model: type[Signed]) -> Signed | None:
    """What `signed` wrote, if its mac verifies under `key` and it is a `model`; else None (changed, unsigned,
    another key's, or not well-formed)."""
    try:
        content = json.loads(text)
    except ValueError:
        return None
    if not isinstance(content, dict) or not isinstance(mac := content.pop("mac", None), str):
        return None
    if not hmac.compare_digest(mac, _mac(key, content)):
        return None
    try:
        return model.model_validate(content)
    except ValidationError:
        return None


def _mac(key: bytes, content: dict[str, Any]) -> str:
    return hmac.new(key, canonical(content), hashlib.sha256).hexdigest()

"""Scripted failures for the sandbox: error statuses, broken connections, latency and secondary rate limits."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, Final

DOCS: Final = "https://docs.github.com/rest"
RATE_LIMIT_DOCS: Final = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
REQUEST_ID: Final = "{request_id}"  # in a fault body's "message", replaced by the request's X-GitHub-Request-Id
SECONDARY_MESSAGE: Final = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    f"If you reach out to GitHub Support for help, please include the request ID {REQUEST_ID}."
)
_FIELDS: Final = ("status", "headers", "body", "reset", "after", "latency")

Json = dict[str, Any]


@dataclass(frozen=True)
class Fault:
    """What one request gets instead of (or on top of) normal handling.

    `status`: answer it with `headers` and `body` without handling the request.
    `reset`: break the connection before the response is complete; with `after` the request is handled first.
    `latency`: extra seconds before answering. A fault with none of these leaves the request alone.
    """

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict, hash=False)  # hash=False keeps faults hashable
    body: object | None = field(default=None, hash=False)
    reset: bool = False
    after: bool = False
    latency: float = 0.0

    def __post_init__(self) -> None:
        if self.status is not None and not 200 <= self.status <= 599:
            raise ValueError(f"a fault's status must be a final HTTP status (200-599), not {self.status}")
        if self.status is not None and self.reset:
            raise ValueError("a fault either answers a status or breaks the connection, not both")
        if self.status is None and (self.headers or self.body is not None):
            raise ValueError("a fault's headers and body need a status")
        if self.after and not self.reset:
            raise ValueError("after=True only makes sense with reset=True")
        if self.latency < 0:
            raise ValueError("a fault's latency cannot be negative")
        json.dumps(self.body)  # fail here, not when a request meets the fault
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))

    @classmethod
    def secondary_rate_limit(cls, retry_after: int | None = 1) -> Fault:
        """GitHub's 403 for a secondary rate limit (the primary quota is not what ran out)."""
        headers = {} if retry_after is None else {"retry-after": str(retry_after)}
        return cls(403, headers, _secondary_body(403))

    @classmethod
    def too_many_requests(cls, retry_after: int = 1) -> Fault:
        """429 with retry-after: GitHub also answers secondary rate limits this way."""
        return cls(429, {"retry-after": str(retry_after)}, _secondary_body(429))

    def response_body(self, request_id: str) -> object | None:
        """The JSON body to send, or None when the status has no body."""
        if self.status is None or self.status in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED):
            return None
        if self.body is None:
            try:
                phrase = HTTPStatus(self.status).phrase
            except ValueError:
                phrase = "Error"
            return {"message": phrase, "documentation_url": DOCS, "status": str(self.status)}
        if isinstance(self.body, dict) and isinstance(self.body.get("message"), str):
            return {**self.body, "message": self.body["message"].replace(REQUEST_ID, request_id)}
        return self.body

    def to_json(self) -> Json:
        """The fields that differ from the defaults, as the control endpoint shows them."""
        default = Fault()
        shown = {name: getattr(self, name) for name in _FIELDS if getattr(self, name) != getattr(default, name)}
        if "headers" in shown:
            shown["headers"] = dict(self.headers)
        return shown

    @classmethod
    def from_json(cls, data: object) -> Fault:
        """Parse one fault as sent to POST /_sandbox/faults; ValueError says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("each fault must be a JSON object")
        if "secondary_rate_limit" in data or "too_many_requests" in data:
            return _factory_from_json(data)
        unknown = set(data) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        status, headers = data.get("status"), data.get("headers", {})
        reset, after, latency = data.get("reset", False), data.get("after", False), data.get("latency", 0.0)
        if status is not None and not is_int(status):
            raise ValueError("status must be an integer")
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise ValueError("headers must be an object of strings")
        if not isinstance(reset, bool) or not isinstance(after, bool):
            raise ValueError("reset and after must be true or false")
        if not is_number(latency):
            raise ValueError("latency must be a number of seconds")
        return cls(status, headers, data.get("body"), reset, after, float(latency))


def _factory_from_json(data: Json) -> Fault:
    """{"secondary_rate_limit": {"retry_after": 1}} or {"too_many_requests": {"retry_after": 1}}."""
    if len(data) != 1:
        raise ValueError("a rate-limit fault takes no other fields")
    [(name, options)] = data.items()
    if not isinstance(options, dict):
        raise ValueError(f'{name} takes an object like {{"retry_after": 1}}')
    if set(options) - {"retry_after"}:
        raise ValueError("the only option of a rate-limit fault is retry_after")
    retry_after = options.get("retry_after", 1)
    if name == "too_many_requests" and is_int(retry_after):
        return Fault.too_many_requests(retry_after)
    if name == "secondary_rate_limit" and (retry_after is None or is_int(retry_after)):
        return Fault.secondary_rate_limit(retry_after)
    raise ValueError("retry_after must be a whole number of seconds")


def _secondary_body(status: int) -> Json:
    return {
        "message": SECONDARY_MESSAGE,
        "documentation_url": RATE_LIMIT_DOCS + "#about-secondary-rate-limits",
        "status": str(status),
    }


def is_int(value: object) -> bool:
    """A JSON integer (Python's bool is an int, JSON's true is not); control.py checks its bodies with it too."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """A JSON number, integer or not, but not true or false."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class _Script:
    method: str  # upper case; may be an fnmatch pattern such as "*"
    path: str  # fnmatch pattern over the raw, still percent-encoded path
    faults: deque[Fault]


class Faults:
    """The latency and fault scripts every API request goes through; safe to change from any thread."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock  # the state's lock, so a reset clears faults atomically with the world
        self._latency = 0.0
        self._scripts: list[_Script] = []

    @property
    def latency(self) -> float:
        """Seconds added to every API request (not to the /_sandbox/* control endpoints)."""
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        with self._lock:
            self._latency = float(seconds)

    def script(self, method: str, path: str, faults: Iterable[Fault]) -> None:
        """Give the next requests matching `method` and the fnmatch pattern `path` these faults, one each."""
        queue = deque(faults)
        if not all(isinstance(f, Fault) for f in queue):
            raise TypeError("faults must be Fault instances")
        if queue:  # an empty script could never match anything
            with self._lock:
                self._scripts.append(_Script(method.upper(), path, queue))

    def clear(self) -> None:
        """Remove every script and the latency."""
        with self._lock:
            self._latency = 0.0
            self._scripts.clear()

    def take(self, method: str, raw_path: str) -> Fault | None:
        """The fault for a request that just arrived: the next one of the first matching script, if any."""
        with self._lock:
            for script in self._scripts:
                if fnmatchcase(method.upper(), script.method) and fnmatchcase(raw_path, script.path):
                    fault = script.faults.popleft()
                    if not script.faults:
                        self._scripts.remove(script)  # used up: matching requests behave normally again
                    return fault
            return None

    def to_json(self) -> Json:
        """The latency and the faults still to come, in the shape POST /_sandbox/faults takes."""
        with self._lock:
            scripts = [
                {"method": s.method, "path": s.path, "faults": [f.to_json() for f in s.faults]} for s in self._scripts
            ]
            return {"latency": self._latency, "scripts": scripts}

    def load_json(self, data: object) -> None:
        """Replace everything with the configuration of POST /_sandbox/faults; ValueError leaves it unchanged."""
        if not isinstance(data, dict) or set(data) - {"latency", "scripts"}:
            raise ValueError('send a JSON object like {"latency": 0.05, "scripts": [...]}')
        latency, scripts = data.get("latency", 0.0), data.get("scripts", [])
        if not is_number(latency) or latency < 0:
            raise ValueError("latency must be a non-negative number of seconds")
        if not isinstance(scripts, list):
            raise ValueError("scripts must be a list")
        parsed: list[_Script] = []
        for script in scripts:
            if not isinstance(script, dict) or set(script) != {"method", "path", "faults"}:
                raise ValueError(
                    'each script must be an object like {"method": "GET", "path": "/orgs/*", "faults": []}'
                )
            method, path, faults = script["method"], script["path"], script["faults"]
            if not isinstance(method, str) or not isinstance(path, str) or not isinstance(faults, list):
                raise ValueError("a script's method and path must be strings and its faults a list")
            if faults:
                parsed.append(_Script(method.upper(), path, deque(Fault.from_json(f) for f in faults)))
        with self._lock:
            self._latency = float(latency)
            self._scripts = parsed

"""The sandbox's own control endpoints under /_sandbox/: reset, clock, faults, registry outage, switches, rate
limits, stats.

They answer without authentication, latency, faults or GitHub's headers: they drive the sandbox, they are not GitHub.
What they set stays in this process's memory, even when the world is saved on disk (saved.py); a reset saves fresh
demo data there too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from github_packages_mcp.sandbox.faults import is_int, is_number
from github_packages_mcp.sandbox.render import error_response, json_response, timestamp
from github_packages_mcp.sandbox.world import SandboxState

ControlHandler = Callable[[SandboxState, Request], Awaitable[Response]]


async def answer_control(state: SandboxState, request: Request, raw_path: str) -> Response:
    """Answer one /_sandbox/* request; an unknown path or method gets GitHub's 404, one a web page could have sent
    a 403 (`_cross_site`)."""
    if (refused := _cross_site(request)) is not None:
        return error_response(403, refused)
    handler = CONTROL_ROUTES.get(raw_path, {}).get(request.method)
    if handler is None:
        return error_response(404, "Not Found")
    return await handler(state, request)


def _cross_site(request: Request) -> str | None:
    """Why a control request may come from a web page rather than a person or a test, or None: a browser sends an
    `Origin` (or `Sec-Fetch-Site`) naming another site, and a DNS-rebinding page reaches the sandbox under a host
    name of its own. Tests, curl and the project's clients send neither, and address it by IP or `localhost`."""
    host = (request.headers.get("host") or "").lower()
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc.lower() != host:
        return f"Control requests from another site ({origin}) are refused."
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return "Control requests from another site are refused."
    name = urlsplit(f"//{host}").hostname or ""
    if name != "localhost" and not _is_ip(name):
        return f"Control requests must address the sandbox by IP address or localhost, not {name!r}."
    return None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


async def _reset(state: SandboxState, request: Request) -> Response:
    state.reset()
    return Response(status_code=204)


async def _get_clock(state: SandboxState, request: Request) -> Response:
    return json_response({"now": timestamp(state.clock.now())})


async def _advance_clock(state: SandboxState, request: Request) -> Response:
    try:
        seconds = (await request.json())["advance_seconds"]
        if not is_number(seconds):
            raise TypeError(seconds)
    except (ValueError, KeyError, TypeError):
        return error_response(400, 'Send a JSON body like {"advance_seconds": 3600}.')
    state.clock.advance(timedelta(seconds=seconds))
    return await _get_clock(state, request)


async def _get_faults(state: SandboxState, request: Request) -> Response:
    return json_response(state.faults.to_json())


async def _load_faults(state: SandboxState, request: Request) -> Response:
    try:
        state.faults.load_json(await request.json())
    except (ValueError, TypeError) as error:
        return error_response(400, f"Bad fault configuration: {error}.")
    return await _get_faults(state, request)


async def _clear_faults(state: SandboxState, request: Request) -> Response:
    state.faults.clear()
    return Response(status_code=204)


async def _get_registry(state: SandboxState, request: Request) -> Response:
    return json_response({"available": state.registry_available})


async def _set_registry(state: SandboxState, request: Request) -> Response:
    try:
        available = (await request.json())["available"]
        if not isinstance(available, bool):
            raise TypeError(available)
    except (ValueError, KeyError, TypeError):
        return error_response(400, 'Send a JSON body like {"available": false}.')
    state.set_registry_available(available)
    return await _get_registry(state, request)


async def _get_switches(state: SandboxState, request: Request) -> Response:
    return json_response(state.switches.to_json())


async def _set_switches(state: SandboxState, request: Request) -> Response:
    """Change the switches the body names, keep the others (see switches.py); a reset restores them all."""
    try:
        state.update_switches(await request.json())
    except ValueError as error:  # a body that is not JSON is a ValueError too
        return error_response(400, f"Bad switches: {error}.")
    return await _get_switches(state, request)


async def _set_rate_limit(state: SandboxState, request: Request) -> Response:
    try:
        data = await request.json()
        token, remaining, reset_in = data["token"], data["remaining"], data["reset_in"]
        if not isinstance(token, str) or not is_int(remaining) or not is_number(reset_in):
            raise TypeError(data)
        state.set_rate_limit(token, remaining=remaining, reset_in=reset_in)
    except (ValueError, KeyError, TypeError):
        return error_response(
            400, 'Send a JSON body like {"token": "ghp_...", "remaining": 0, "reset_in": 3600} (0-5000 remaining).'
        )
    rate = state.rate_limit(token)
    return json_response({"limit": rate.limit, "remaining": rate.remaining, "used": rate.used, "reset": rate.reset})


async def _get_stats(state: SandboxState, request: Request) -> Response:
    with state.lock:
        stats = {"requests": len(state.requests), "in_flight": state.in_flight, "max_in_flight": state.max_in_flight}
    return json_response(stats)


CONTROL_ROUTES: Final[dict[str, dict[str, ControlHandler]]] = {
    "/_sandbox/reset": {"POST": _reset},
    "/_sandbox/clock": {"GET": _get_clock, "POST": _advance_clock},
    "/_sandbox/faults": {"GET": _get_faults, "POST": _load_faults, "DELETE": _clear_faults},
    "/_sandbox/registry": {"GET": _get_registry, "POST": _set_registry},
    "/_sandbox/switches": {"GET": _get_switches, "POST": _set_switches},
    "/_sandbox/rate-limit": {"POST": _set_rate_limit},
    "/_sandbox/stats": {"GET": _get_stats},
}

"""A local stand-in for GitHub's REST Packages API (the 27 operations, /user and /rate_limit) and for the
ghcr.io container registry's read API, with demo data and scripted faults."""

from github_packages_mcp.sandbox.app import SandboxApp
from github_packages_mcp.sandbox.clock import Clock
from github_packages_mcp.sandbox.demo import (
    DEMO_ACTIONS_TOKEN,
    DEMO_FINE_GRAINED_TOKEN,
    DEMO_LOGIN,
    DEMO_ORG,
    DEMO_OTHER_USER,
    DEMO_READ_TOKEN,
    DEMO_TOKEN,
    DEMO_TOKENS,
    build_demo_world,
)
from github_packages_mcp.sandbox.faults import Fault, Faults
from github_packages_mcp.sandbox.model import SandboxError
from github_packages_mcp.sandbox.saved import SavedWorld
from github_packages_mcp.sandbox.server import SandboxServer
from github_packages_mcp.sandbox.switches import REFERRERS_MODES, ReferrersMode, Switches
from github_packages_mcp.sandbox.world import RecordedRequest, SandboxState

__all__ = [
    "DEMO_ACTIONS_TOKEN",
    "DEMO_FINE_GRAINED_TOKEN",
    "DEMO_LOGIN",
    "DEMO_ORG",
    "DEMO_OTHER_USER",
    "DEMO_READ_TOKEN",
    "DEMO_TOKEN",
    "DEMO_TOKENS",
    "REFERRERS_MODES",
    "Clock",
    "Fault",
    "Faults",
    "RecordedRequest",
    "ReferrersMode",
    "SandboxApp",
    "SandboxError",
    "SandboxServer",
    "SandboxState",
    "SavedWorld",
    "Switches",
    "build_demo_world",
]

"""One root for the errors the server raises about a request, whose three branches say what happened.

    GitHubPackagesError
     ├── InvalidRequest              refused here, before anything was sent; the message says what to change
     │    ├── InvalidArguments       arguments GitHub would refuse, or that contradict each other
     │    │    └── RulesError        retention rules that cannot be used (retention/patterns.py)
     │    ├── UnusableToken          a token an HTTP header cannot carry (github/errors.py)
     │    ├── PlanNotFound, PlanExpired                (retention/store.py)
     │    ├── NoPackageMatched       a package name glob that matches no package (only the listing was read)
     │    │                          (retention/sources.py)
     │    └── PlanChanged            not the plan the person confirmed (retention/apply.py)
     ├── StateUnavailable            the server's own records could not be read or written: what needed them
     │    │                          was not done, unless the message says otherwise
     │    ├── SharedStateUnavailable Redis did not answer (state/redis.py)
     │    ├── StoreUnavailable       the plans' and journal's disk failed (state/files.py)
     │    └── OutcomeNotJournaled    a delete did go to GitHub; its outcome could not be journaled
     │                               (retention/apply.py)
     └── GitHubError                 GitHub answered with an error, or could not be reached (github/errors.py)

Every message is whole and for people: `toolkit/advice.py` passes it on as the tool's error (a `GitHubError`
with the next step added). This module imports nothing of the package, so every layer can raise these.
"""

from __future__ import annotations

__all__ = ["GitHubPackagesError", "InvalidArguments", "InvalidRequest", "StateUnavailable"]


class GitHubPackagesError(Exception):
    """Base of every error the server raises about a request; the branch says what happened."""


class InvalidRequest(GitHubPackagesError, ValueError):
    """A request refused before anything was sent; its message is whole, for the person to act on."""


class InvalidArguments(InvalidRequest):
    """Arguments that pass the schema but that GitHub would refuse, or that contradict each other."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"Invalid arguments, nothing was sent: {problem}")
        self.problem = problem


class StateUnavailable(GitHubPackagesError):
    """The server's own records (the journal, plans, shared state) could not be read or written; the message says
    what was done and what was not."""

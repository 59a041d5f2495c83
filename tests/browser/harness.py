"""The real-browser harness for MCP Apps, as a test uses it: `BrowserHost` is one Node process (host.mjs) driving
one headless Chromium; `open` mounts a tool's app in the minimal host page (host_page.mjs: the official ext-apps
AppBridge, the TypeScript client over streamable HTTP) and returns the `AppView` the test drives.

    app = browser_host.open(http_url, "greet", {"name": "Ada"}, theme="dark")
    app.wait_ready()                                   # the app sets document.body.dataset.state = "ready"
    app.fill("#text", "hi"); app.click("#send")
    [call] = app.wait_for_calls("echo")                # the app's tools/call, answered by the real server
    assert app.text("#answer") == "HI (call 1)"
    app.screenshot(tmp_path / "app.png")
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO, Any, Literal

import pytest

from tests.helpers import clean_env

HERE = Path(__file__).parent
DRIVER = HERE / "host.mjs"
DOCS = HERE.parent.parent / "docs"
START_TIMEOUT = 60  # bundling the host page and launching Chromium: about a second here
STEP_TIMEOUT = 30  # beyond the driver's own waits (15 s by default), which report what they waited for

Theme = Literal["light", "dark"]
Where = Literal["app", "host"]


def chromium() -> str:
    """Debian's chromium (or the one CHROMIUM names); the test skips, or under CI fails, without it."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    if unavailable := os.environ.get("CHROMIUM_UNAVAILABLE"):
        pytest.skip(unavailable)
    reason = "Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: under CI=true .ci/run installs it, or says why not in CHROMIUM_UNAVAILABLE")
    pytest.skip(reason)


def shot_path(tmp_path: Path, name: str) -> Path:
    """Where a screenshot goes: the test's own folder, or docs/ with UPDATE_SCREENSHOTS=1 (never under CI), where
    the README shows it."""
    if os.environ.get("UPDATE_SCREENSHOTS") and not os.environ.get("CI"):
        return DOCS / name
    return tmp_path / name


class HostError(AssertionError):
    """A step the driver could not do: its error, with what the pages logged."""


class BrowserHost:
    """The Node driver and its browser, for as many `open`s as the tests make (each a new browser context)."""

    def __init__(self, node: str, chromium: str) -> None:
        # A file, not a pipe: nobody reads stderr until something fails, and a full pipe would stall the driver.
        self.stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115  (closed in close())
        self.process = subprocess.Popen(
            [node, str(DRIVER)],
            cwd=HERE,
            env=clean_env(CHROMIUM=chromium),  # no GitHub token of the machine reaches the browser
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=_pump, args=(self.process.stdout, self.lines), daemon=True).start()
        self.next_id = 0
        ready = self._read(START_TIMEOUT, "start")
        if not ready.get("ready"):
            self.close()
            raise HostError(f"the browser did not start: {ready.get('error')}")
        self.chromium: str = ready["chromium"]
        self.versions: dict[str, str] = ready["versions"]

    def request(self, op: str, timeout: float = STEP_TIMEOUT, **params: Any) -> Any:
        """One step; its value. Raises HostError when the driver could not do it."""
        assert self.process.stdin is not None
        self.next_id += 1
        self.process.stdin.write(json.dumps({"id": self.next_id, "op": op, **params}) + "\n")
        self.process.stdin.flush()
        answer = self._read(timeout, op)
        if answer.get("id") != self.next_id:
            raise HostError(f"{op}: an answer out of turn: {answer}")
        if not answer["ok"]:
            logged = "\n".join(answer.get("console", [])[-30:])
            raise HostError(f"{op} {json.dumps(params)[:500]} failed: {answer['error']}\npages logged:\n{logged}")
        return answer["value"]

    def open(
        self,
        url: str,
        tool: str,
        arguments: dict[str, Any] | None = None,
        *,
        theme: Theme = "light",
        width: int = 900,
        height: int = 700,
    ) -> AppView:
        """A new page: the client connects to `url`, reads `tool`'s ui:// resource, mounts it, calls the tool with
        `arguments` and delivers the input and the result to the app, which has initialized by then."""
        mounted = self.request(
            "open", url=url, tool=tool, arguments=arguments or {}, theme=theme, width=width, height=height
        )
        return AppView(self, mounted)

    def close(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()  # the driver closes the browser and exits at the end of its input
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr.close()

    def _read(self, timeout: float, what: str) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise HostError(f"{what}: no answer from the browser driver in {timeout} s") from None
        if line is None:
            self.process.wait(5)
            self.stderr.seek(0)
            stderr = self.stderr.read()
            raise HostError(f"{what}: the browser driver exited ({self.process.returncode}): {stderr[-3000:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


class AppView:
    """The app one `open` mounted, driven as a person would; `where="host"` reaches the page around it."""

    def __init__(self, host: BrowserHost, mounted: dict[str, Any]) -> None:
        self.host = host
        self.resource_uri: str = mounted["resourceUri"]
        self.resource_meta: dict[str, Any] | None = mounted["resourceMeta"]
        self.tool_meta: dict[str, Any] | None = mounted["toolMeta"]
        self.result: dict[str, Any] = mounted["result"]  # the tool's result, as the host delivered it
        self.sandbox: str = mounted["sandbox"]  # the iframe's sandbox attribute
        self.app_info: dict[str, Any] | None = mounted["appInfo"]  # what the app said in ui/initialize
        self.server_info: dict[str, Any] | None = mounted["serverInfo"]

    def eval(self, expression: str, where: Where = "app") -> Any:
        """The value of a JavaScript expression in the app (awaited if a promise; JSON-serializable)."""
        return self.host.request("eval", expression=expression, where=where)

    def wait_for(self, expression: str, timeout: float = 15, where: Where = "app") -> Any:
        """Until the expression is truthy; its value."""
        return self.host.request(
            "waitFor", timeout=timeout + 5, expression=expression, where=where, timeoutMs=int(timeout * 1000)
        )

    def wait_ready(self, timeout: float = 15) -> None:
        """Until the app says it has rendered the tool's result: `document.body.dataset.state == "ready"`."""
        self.wait_for('document.body.dataset.state === "ready"', timeout)

    def text(self, selector: str) -> str:
        """The text a person sees in the first element the selector matches."""
        text: str = self.eval(f"document.querySelector({json.dumps(selector)})?.innerText ?? null")
        if text is None:
            raise HostError(f"nothing in the app matches {selector}")
        return text

    def texts(self, selector: str) -> list[str]:
        """The text of every element the selector matches, in document order."""
        found: list[str] = self.eval(f"[...document.querySelectorAll({json.dumps(selector)})].map(e => e.innerText)")
        return found

    def click(self, selector: str, where: Where = "app") -> None:
        self.host.request("click", selector=selector, where=where)

    def fill(self, selector: str, value: str, where: Where = "app") -> None:
        self.host.request("fill", selector=selector, value=value, where=where)

    def press(self, selector: str, key: str, where: Where = "app") -> None:
        self.host.request("press", selector=selector, key=key, where=where)

    def select(self, selector: str, value: str, where: Where = "app") -> None:
        self.host.request("select", selector=selector, value=value, where=where)

    def check(self, selector: str, checked: bool = True, where: Where = "app") -> None:
        self.host.request("check", selector=selector, value=checked, where=where)

    def app_requests(self) -> list[dict[str, Any]]:
        """What the app asked of the host, in order: tools/call and resources/read (forwarded to the server, with
        `result` or `error`), ui/message, ui/open-link."""
        found: list[dict[str, Any]] = self.host.request("appRequests")
        return found

    def wait_for_calls(self, tool: str, count: int = 1, timeout: float = 15) -> list[dict[str, Any]]:
        """Until the app's `count`th tools/call of `tool` was answered by the server; all of them so far."""
        calls: list[dict[str, Any]] = self.host.request(
            "waitForRequests", timeout=timeout + 5, name=tool, count=count, timeoutMs=int(timeout * 1000)
        )
        return calls

    def set_theme(self, theme: Theme) -> None:
        """The host's theme changes (ui/notifications/host-context-changed, with the theme's style variables)."""
        self.host.request("setTheme", theme=theme)

    def screenshot(self, path: Path, target: Literal["app", "page"] = "app") -> Path:
        """A PNG of the app's iframe (or of the whole host page) at `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.host.request("screenshot", path=str(path), target=target)
        return path

    def console(self) -> list[str]:
        """What the host page and the app logged (errors, warnings, Content-Security-Policy refusals)."""
        logged: list[str] = self.host.request("console")
        return logged

    def close(self) -> None:
        self.host.request("close")

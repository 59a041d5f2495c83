"""The browser harness's own tests, on its fixture server (fixture_server.py, fixture_app.html): the official
AppBridge mounts the app in a sandboxed iframe of headless Chromium, the app gets the tool's input and result and
the host's theme, and its tools/call reaches the real server and comes back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.harness import AppView, BrowserHost, HostError, chromium

PNG = b"\x89PNG\r\n\x1a\n"


def errors(app: AppView) -> list[str]:
    return [line for line in app.console() if line.startswith(("error", "pageerror"))]


def test_the_app_is_sandboxed_and_gets_the_tools_input_and_result(browser_host: BrowserHost, fixture_url: str) -> None:
    app = browser_host.open(fixture_url, "greet", {"name": "Ada"})
    assert app.resource_uri == "ui://fixture/app.html"
    assert app.tool_meta == {"ui": {"resourceUri": "ui://fixture/app.html"}}
    assert app.app_info == {"name": "fixture-app", "version": "1.0.0"}
    assert app.eval('document.querySelector("iframe#app").getAttribute("sandbox")', where="host") == app.sandbox
    assert app.sandbox == "allow-scripts allow-forms"
    # An opaque origin: the app reaches neither the host page nor, by itself, the server the page came from.
    assert app.eval("window.origin") == "null"
    assert app.eval("(() => { try { return parent.document.title } catch (e) { return e.name } })()") == "SecurityError"
    assert app.eval(f"fetch({fixture_url!r}).then(() => 'fetched', () => 'refused')") == "refused"
    app.wait_ready()
    assert app.text("#greeting") == "Hello, Ada"
    assert app.eval("document.body.dataset.input") == '{"name":"Ada"}'
    # The client declared the Apps extension as the SDK's client_supports_apps expects it.
    assert app.result["structuredContent"] == {"greeting": "Hello, Ada", "client_supports_apps": True}
    assert app.eval("document.body.dataset.clientSupportsApps") == "true"
    assert app.eval("document.body.dataset.host") == "github-packages-mcp-test-host"
    # The only errors: the Content-Security-Policy refusing that fetch (the app declared no connectDomains).
    refused = errors(app)
    assert refused
    assert all("Content Security Policy" in line and f"{fixture_url}" in line for line in refused), refused


def test_the_apps_tool_calls_reach_the_server_and_their_answers_come_back(
    browser_host: BrowserHost, fixture_url: str
) -> None:
    app = browser_host.open(fixture_url, "greet", {"name": "Ada"})
    app.wait_ready()
    app.fill("#text", "hi there")
    app.click("#send")
    [call] = app.wait_for_calls("echo")
    assert call["params"] == {"name": "echo", "arguments": {"text": "hi there"}}
    answer = call["result"]["structuredContent"]
    assert answer["echo"] == "HI THERE"
    assert app.wait_for('document.getElementById("answer").innerText') == f"HI THERE (call {answer['call']})"
    app.fill("#text", "again")
    app.press("#text", "Enter")
    second = app.wait_for_calls("echo", count=2)[1]
    # The server counted both: the answer can only have come from it.
    assert second["result"]["structuredContent"] == {"echo": "AGAIN", "call": answer["call"] + 1}
    assert app.wait_for(f'document.getElementById("answer").innerText.includes("call {answer["call"] + 1}")')
    assert [entry["method"] for entry in app.app_requests()] == ["tools/call", "tools/call"]
    assert errors(app) == []


def test_the_host_refuses_the_apps_call_of_a_model_only_tool(browser_host: BrowserHost, fixture_url: str) -> None:
    app = browser_host.open(fixture_url, "greet", {"name": "Ada"})
    app.wait_ready()
    app.click("#model-only")
    app.wait_for('document.getElementById("answer").innerText.startsWith("failed")')
    assert "the host refuses the app's call of model_only" in app.text("#answer")
    [refused] = app.app_requests()
    assert refused["params"]["name"] == "model_only"
    assert "result" not in refused


def test_the_host_theme_and_its_style_variables_reach_the_app(
    browser_host: BrowserHost, fixture_url: str, tmp_path: Path
) -> None:
    app = browser_host.open(fixture_url, "greet", {"name": "Ada"}, theme="dark")
    app.wait_ready()
    assert app.text("#theme") == "dark"
    variable = 'getComputedStyle(document.documentElement).getPropertyValue("--color-background-primary")'
    assert app.eval(variable) == "rgb(28, 25, 23)"
    assert app.eval("getComputedStyle(document.body).backgroundColor") == "rgb(28, 25, 23)"
    dark = app.screenshot(tmp_path / "dark.png")
    app.set_theme("light")
    app.wait_for('getComputedStyle(document.body).backgroundColor === "rgb(255, 255, 255)"')
    assert app.text("#theme") == "light"
    light = app.screenshot(tmp_path / "light.png")
    for shot in (dark, light):
        assert shot.read_bytes().startswith(PNG)
        assert shot.stat().st_size > 1000
    assert dark.read_bytes() != light.read_bytes()


def test_a_tool_without_an_app_is_refused_saying_so(browser_host: BrowserHost, fixture_url: str) -> None:
    with pytest.raises(HostError, match=r"the tool echo has no _meta\.ui\.resourceUri"):
        browser_host.open(fixture_url, "echo", {"text": "x"})
    with pytest.raises(HostError, match="the server has no tool nothing"):
        browser_host.open(fixture_url, "nothing")


def test_without_chromium_the_tests_skip_saying_why_but_fail_under_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    for name in ("CHROMIUM", "CHROMIUM_UNAVAILABLE", "CI"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="under CI=true"):
        chromium()
    monkeypatch.setenv("CHROMIUM_UNAVAILABLE", "could not install chromium: no network")
    with pytest.raises(pytest.skip.Exception, match="no network"):
        chromium()

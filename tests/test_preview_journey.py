"""A guest's journey in Chromium against `python build.py serve`: the real edge function, the real meter."""
from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
import urllib.request
from urllib.parse import urlsplit

import pytest
from conftest import free_port, make_project
from test_edge_support import running_preview, serve_command, started_preview

EXHAUSTED = ("0 code page views remaining. Guest accounts are limited to 1 page view. "
             "Register free account to get 5 more views. Already registered? Log in.")
FREE_VIEW = ("This is your free code page view. 0 code page views remaining. "
             "Register free account to get 5 more views.")
REOPENED = ("You unlocked this code page earlier, so reading it again is free. 0 code page views remaining. "
            "Register free account to get 5 more views.")



@pytest.fixture(scope="module")
def preview(tmp_path_factory):
    with running_preview(tmp_path_factory.mktemp("preview")) as running:
        yield running


def visit(context, url: str) -> tuple[str, str, str]:
    """Open a page; return (text of the Summary-like sections, banner text, the raw response body)."""
    page = context.new_page()
    response = page.goto(url)
    assert response.status in (200, 404), url
    body = response.text()
    protected = page.locator("section.protected-section").all_inner_texts()
    banner = page.locator("#meter-banner").inner_text() if page.locator("#meter-banner").count() else ""
    page.close()
    return " ".join(protected), banner, body


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_guest_reads_one_page_in_full_then_is_gated(preview, chromium, javascript):
    base, _, _ = preview
    context = chromium.new_context(java_script_enabled=javascript)
    try:
        visit(context, base + "/cpt/62320-62327/")  # an index page costs nothing
        first, banner, _ = visit(context, base + "/cpt/623/62323/")
        assert "SECRET-SUMMARY-62323" in first and "SECRET-FAQ-62323" in first
        assert banner == FREE_VIEW

        second, banner, source = visit(context, base + "/cpt/623/62322/")
        assert "SECRET" not in second and "Register to view content" in second
        assert banner == EXHAUSTED
        if javascript:  # the banner's own links (they work without JavaScript too: plain links)
            page = context.new_page()
            page.goto(base + "/cpt/623/62322/")
            links = page.locator("#meter-banner a")
            assert [links.nth(i).inner_text() for i in range(links.count())] == ["Register free account", "Log in"]
            assert links.first.get_attribute("href") == "/auth/register?return_to=%2Fcpt%2F623%2F62322%2F"
            page.close()
        assert "SECRET" not in source and "data-sealed" not in source

        again, banner, _ = visit(context, base + "/cpt/623/62323/")
        assert "SECRET-SUMMARY-62323" in again, "re-opening an unlocked page is free"
        assert banner == REOPENED

        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["__Host-cp_meter"]["httpOnly"] and cookies["__Host-cp_meter"]["sameSite"] == "Lax"
    finally:
        context.close()


def test_a_new_visitor_and_url_variants_do_not_get_more(preview, chromium):
    base, _, _ = preview
    context = chromium.new_context()
    try:
        visit(context, base + "/hcpcs/J/J1040/")
        for variant in ("/cpt/623/62323/index.html", "/CPT/62323/", "/cpt/62323", "/cpt/623/62323/?utm=x"):
            text, banner, source = visit(context, base + variant)  # variants redirect to the page: gated
            assert "SECRET" not in text and "SECRET" not in source, variant
            assert banner == EXHAUSTED, variant
    finally:
        context.close()


def test_preview_rebuilds_when_content_changes(preview):
    base, project, _ = preview
    record = project / "content" / "hcpcs" / "J1040.md"
    record.write_text(record.read_text().replace("PUBLIC-J1040", "REBUILT-J1040"))
    deadline = time.monotonic() + 30
    while "REBUILT-J1040" not in urllib.request.urlopen(base + "/hcpcs/J/J1040/").read().decode():
        assert time.monotonic() < deadline, "the preview did not rebuild"
        time.sleep(0.3)


def test_ctrl_c_stops_the_preview_and_its_edge_server(tmp_path):
    with started_preview(make_project(tmp_path)) as preview:
        preview.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert preview.process.wait(timeout=20) == 0
    output = preview.log_path.read_text()
    assert f"{preview.base}/" in output and "Preview stopped." in output
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{preview.base}/", timeout=2)


def test_ctrl_c_stops_a_preview_whose_parent_ignores_it(tmp_path):
    """A parent that ignores SIGINT (a shell's background job, a pytest-xdist worker) passes that
    on, and Python then leaves it ignored: the preview sets its own handler."""
    with started_preview(make_project(tmp_path), sigint_ignored=True) as preview:
        preview.process.send_signal(signal.SIGINT)
        assert preview.process.wait(timeout=20) == 0
    assert "Preview stopped." in preview.log_path.read_text()


def test_a_killed_preview_leaves_no_server_behind(tmp_path):
    """`kill -9` of the preview (a closed terminal, an IDE's stop button) ends its edge server,
    its OpenID Connect provider and its PostgreSQL too: the next preview can have the port."""
    with started_preview(make_project(tmp_path)) as preview:
        log = preview.log_path.read_text()
        ports = [int(found) for found in re.findall(r"(?:PostgreSQL on 127\.0\.0\.1|provider at http://localhost):(\d+)", log)]
        assert len(ports) == 2, log
        ports.append(int(urlsplit(preview.base).port or 0))
        preview.process.kill()
        preview.process.wait(timeout=10)
        deadline = time.monotonic() + 15
        while (listening := [port for port in ports if answers(port)]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert listening == [], f"still listening after the preview was killed: {listening}\n{log}"


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_a_preview_of_a_project_that_never_built_names_the_problem_and_stops(tmp_path):
    project = make_project(tmp_path)
    (project / "content" / "site.yaml").write_text("base_url: [\n", encoding="utf-8")
    served = subprocess.run(serve_command(free_port()), cwd=project, capture_output=True, text=True, timeout=60)
    assert served.returncode == 1
    assert served.stderr.startswith("content/site.yaml:2:1: YAML syntax error")
    assert "there is no site to serve yet" in served.stderr and "still serving" not in served.stderr
    assert "Traceback" not in served.stderr + served.stdout


@pytest.mark.parametrize("typed, target", [("m5416", "/icd-10-cm/M54/M54.16/"), ("62323", "/cpt/623/62323/"),
                                           ("J1040", "/hcpcs/J/J1040/")])
def test_without_javascript_the_header_box_jumps_to_an_exactly_typed_code(preview, chromium, typed, target):
    """Issue 9: the header search form, with JavaScript off in Chromium, lands on the code's page
    (the edge answers /search/?q=<exact code> with a redirect); words stay on the search page."""
    base, _, _ = preview
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(base + "/icd-10-cm/")
        page.fill("#site-search-q", typed)
        with page.expect_navigation():
            page.press("#site-search-q", "Enter")
        assert page.url == base + target
        assert target.strip("/").split("/")[-1] in page.locator("h1").inner_text()
        page.fill("#site-search-q", "lumbar injection")
        with page.expect_navigation():
            page.press("#site-search-q", "Enter")
        assert page.url.startswith(base + "/search/?q=lumbar")
    finally:
        context.close()


def test_a_provider_that_never_says_it_is_ready_does_not_hold_the_preview(tmp_path, monkeypatch, capsys):
    """The local OpenID Connect provider started but silent: the preview gives up on it after
    its wait, says so, and goes on without sign-in (a blocking read once waited for ever)."""
    from codepages import serving

    root = tmp_path / "root"
    (root / "dev" / "oidc" / "node_modules" / "oidc-provider").mkdir(parents=True)
    silent = tmp_path / "node"
    silent.write_text("#!/bin/sh\nexec sleep 60\n")
    silent.chmod(0o755)
    monkeypatch.setattr(serving.shutil, "which", lambda name: str(silent) if name == "node" else None)
    monkeypatch.setattr(serving, "PROVIDER_START_SECONDS", 1.0)
    services = serving.AccountServices(root, free_port())
    environment: dict[str, str] = {}
    started = time.monotonic()
    services._start_provider(environment)
    assert time.monotonic() - started < 10
    assert "the local OpenID Connect provider did not start: no answer within 1.0 s" in capsys.readouterr().err
    assert "OIDC_ISSUER" not in environment and services.provider is None

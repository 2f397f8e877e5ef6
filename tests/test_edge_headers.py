"""Security headers on every response of the preview (static files get netlify.toml's
[[headers]], like on Netlify; edge answers set the same values), and malformed requests."""
from __future__ import annotations

import socket
import tomllib

import pytest
from conftest import ROOT
from test_edge_support import Client, running_preview

EXPECTED = next(rule["values"] for rule in tomllib.loads((ROOT / "netlify.toml").read_text())["headers"]
                if rule["for"] == "/*")


@pytest.fixture(scope="module")
def preview(tmp_path_factory):
    with running_preview(tmp_path_factory.mktemp("headers")) as running:
        yield running


def test_the_policy_is_complete():
    csp = EXPECTED["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "'wasm-unsafe-eval'" in csp and "worker-src 'self'" in csp
    for name in ("Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy"):
        assert EXPECTED[name]


def test_every_kind_of_response_carries_the_security_headers(preview):
    base, project, _ = preview
    css = next((project / "site" / "assets").glob("*.css")).name
    client = Client(base)
    answers = {
        "static page": client.get("/"),
        "asset": client.get(f"/assets/{css}"),
        "pagefind worker": client.get("/pagefind/pagefind-worker.js"),
        "code shard": client.get("/search/codes/6/623.json"),
        "code page (edge)": client.get("/cpt/623/62323/"),
        "gated code page (edge)": client.get("/cpt/623/62322/"),
        "redirect (edge)": client.get("/cpt/62323"),
        "404 with suggestions (edge)": client.get("/cpt/62329/"),
        "static 404": client.get("/nothing-here/"),
        "logout form (edge)": client.get("/auth/logout"),
        "range page": client.get("/cpt/62320-62327/"),
    }
    for kind, answer in answers.items():
        for name, value in EXPECTED.items():
            assert answer.header(name) is not None, f"{kind}: {name} missing"
            if name == "Referrer-Policy" and kind.startswith("logout"):
                assert answer.header(name) == "no-referrer", kind  # sign-in pages send no referrer at all
            elif name != "Content-Security-Policy":
                assert answer.header(name) == value, f"{kind}: {name}"
            else:  # pages with the logout form may allow the provider as a form target too
                assert answer.header(name).startswith(value.split(" form-action")[0]), kind
                assert "frame-ancestors 'self'" in answer.header(name), kind


def raw(base: str, request: bytes) -> str:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.decode("latin-1")


@pytest.mark.parametrize("host", ["a b", "evil.example", "[::1", "127.0.0.1:1"])
def test_a_bad_host_header_is_a_400_without_a_stack_trace(preview, host):
    base, _, log = preview
    answer = raw(base, f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    assert answer.startswith("HTTP/1.1 400"), answer[:200]
    assert "at " not in answer.split("\r\n\r\n", 1)[-1] and "Error" not in answer


def test_localhost_is_sent_to_127_0_0_1_so_the_site_never_shares_cookies_with_the_provider(preview):
    base, _, log = preview
    port = base.rsplit(":", 1)[1]
    answer = raw(base, f"GET /cpt/ HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n".encode())
    assert answer.startswith("HTTP/1.1 301") and f"location: http://127.0.0.1:{port}/cpt/" in answer.lower()
    assert "provider at http://localhost:" in log.read_text(), "the provider runs under the other host name"


@pytest.mark.parametrize("path", ["//search", "///search", "//cpt", "/x/..//search"])
def test_the_slash_redirect_never_leaves_the_site(preview, path):
    base, _, _ = preview
    answer = raw(base, f"GET {path} HTTP/1.1\r\nHost: {base.removeprefix('http://')}\r\nConnection: close\r\n\r\n".encode())
    for line in answer.split("\r\n"):
        if line.lower().startswith("location:"):
            location = line.split(":", 1)[1].strip()
            assert location.startswith("/") and not location.startswith("//"), location


def test_return_to_cannot_send_a_visitor_off_site_or_break_the_login(preview):
    base, _, _ = preview
    client = Client(base)
    for target in ("/x/..//search", "//evil.example/", "/AUTH/logout", "/%E2%98%83"):
        answer = client.get(f"/auth/login?return_to={target}")
        assert answer.status == 302, (target, answer.status, answer.body[:300])  # to the provider, never a 500

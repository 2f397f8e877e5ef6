"""Helpers for the edge tests (no tests here): start `build.py serve` on a fixture project and
talk HTTP to it without following redirects, the way a checker of addresses must."""
from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from conftest import ROOT, free_port, make_project, wait_for

SEALED_PAGES = ["/cpt/623/62322/", "/cpt/623/62323/", "/hcpcs/J/J1040/", "/icd-10-cm/M54/M54.16/"]


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def cookies(self) -> list[str]:
        return self.headers.get_all("set-cookie") or []


class Client:
    """HTTP/1.1 to the preview, one request at a time, cookies kept by hand (no redirects followed)."""

    def __init__(self, base: str):
        self.base = base
        self.jar: dict[str, str] = {}

    def get(self, path: str, method: str = "GET", headers: dict[str, str] | None = None,
            body: str | None = None, keep_cookies: bool = True) -> Answer:
        parts = urlsplit(self.base)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        sent = dict(headers or {})
        if self.jar and "Cookie" not in sent:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        answer = Answer(response.status, response.headers, response.read().decode("utf-8", "replace"))
        connection.close()
        if keep_cookies:
            for cookie in answer.cookies:
                pair = cookie.split(";", 1)[0]
                name, _, value = pair.partition("=")
                if value:
                    self.jar[name] = value
                else:
                    self.jar.pop(name, None)
        return answer

    def follow(self, path: str, headers: dict[str, str] | None = None, limit: int = 5) -> tuple[Answer, list[str]]:
        """GET `path`, following redirects; the final answer and the redirect locations seen."""
        seen = []
        answer = self.get(path, headers=headers)
        while answer.status in (301, 302, 303, 307, 308) and len(seen) < limit:
            location = answer.header("location")
            seen.append(location)
            answer = self.get(urlsplit(location).path + (f"?{urlsplit(location).query}" if urlsplit(location).query else ""),
                              headers=headers)
        return answer, seen


@dataclass
class Preview:
    """A running `build.py serve`: its address, project, and the log its output goes to."""
    base: str
    project: Path
    log_path: Path
    process: subprocess.Popen[str]


def serve_command(port: int) -> list[str]:
    """`build.py serve` of a fixture project (run from its folder)."""
    return [sys.executable, str(ROOT / "build.py"), "serve", "--port", str(port),
            "--content", "content", "--templates", "templates", "--out", "site"]


@contextmanager
def started_preview(project: Path, environment: dict[str, str] | None = None,
                    sigint_ignored: bool = False) -> Iterator[Preview]:
    """`build.py serve` on `project` (with `environment` added), stopped with Ctrl-C's signal at the end;
    `sigint_ignored`: started as by a parent that ignores SIGINT."""
    port = free_port()
    log_path = project / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(serve_command(port), cwd=project, stdout=log, stderr=subprocess.STDOUT, text=True,
                                   env={**os.environ, **(environment or {})},
                                   preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None)
        preview = Preview(f"http://127.0.0.1:{port}", project, log_path, process)
        try:
            wait_for(preview.base + "/", seconds=120, server=process, log_path=log_path)
            yield preview
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


@contextmanager
def running_preview(tmp_path: Path, environment: dict[str, str] | None = None,
                    extra_records: dict[str, str] | None = None) -> Iterator[tuple[str, Path, Path]]:
    """The preview of the valid fixture project (plus `extra_records`): (address, project, log)."""
    project = make_project(tmp_path)
    for relative, text in (extra_records or {}).items():
        (project / "content" / relative).write_text(text, encoding="utf-8")
    with started_preview(project, environment) as preview:
        yield preview.base, preview.project, preview.log_path


def full(answer: Answer) -> bool:
    """The protected sections of the fixture page are in the answer (the fixture marks them SECRET-)."""
    return "SECRET-" in answer.body and "<!--locked:" not in answer.body

"""Local preview: build, then serve the site through the real edge function on loopback.

A Deno process (edge/dev/server.ts) serves the output folder the way Netlify does and runs
the edge functions on the routes netlify.toml declares, with the same environment variables
as production. Content and template changes trigger a rebuild; a rebuild with problems
keeps the last good site.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import sealing
from .errors import ContentError, SetupError
from .pipeline import Log, Project, build

METER_VARIABLE = "CODEPAGES_METER_KEYS"


def deno_binary() -> str:
    try:
        import deno  # the `deno` package on PyPI ships the binary
        return deno.find_deno_bin()
    except (ImportError, FileNotFoundError):
        raise SetupError("Deno is needed for the preview: install it with "
                         "'.venv/bin/pip install -r requirements-dev.txt' (package 'deno')") from None


def edge_environment(project: Project) -> dict[str, str]:
    """The variables the edge function reads in production, with development keys locally."""
    environment = dict(os.environ)
    try:
        seal_keys = sealing.load_keys(environment, project.secrets_dir / "seal-keys")
        meter_keys = sealing.load_keys(environment, project.secrets_dir / "meter-keys", variable=METER_VARIABLE)
    except sealing.SealKeyError as exc:
        raise SetupError(str(exc)) from None
    environment[sealing.VARIABLE] = sealing.format_keys(seal_keys)
    environment[METER_VARIABLE] = sealing.format_keys(meter_keys)
    return environment


def fingerprint(*folders: Path) -> tuple:
    return tuple(sorted(
        (str(path), stat.st_mtime_ns, stat.st_size)
        for folder in folders for path in folder.rglob("*") if path.is_file() and (stat := path.stat())
    ))


def rebuild(project: Project, log: Log) -> bool:
    try:
        result = build(project, log)
    except ContentError as error:
        for problem in error.problems.sorted():
            print(problem, file=sys.stderr)
        print(f"{len(error.problems)} problem(s); still serving the last good site.", file=sys.stderr, flush=True)
        return False
    print(f"Built {sum(result.pages.values())} pages in {result.seconds:.2f} s", flush=True)
    return True


def serve(project: Project, root: Path, port: int, poll_seconds: float = 0.5) -> int:
    log = Log(quiet=True)
    environment = edge_environment(project)
    if not rebuild(project, log) and not (project.out_dir / "index.html").exists():
        return 1
    command = [
        deno_binary(), "run", "--quiet", "--config", str(root / "edge" / "deno.json"),
        "--allow-net=127.0.0.1", "--allow-read", "--allow-env",
        str(root / "edge" / "dev" / "server.ts"), "--site", str(project.out_dir),
        "--toml", str(root / "netlify.toml"), "--functions", str(root / "edge" / "functions"), "--port", str(port),
    ]
    server = subprocess.Popen(command, cwd=root, env=environment)
    signal.signal(signal.SIGTERM, _interrupt)
    interrupted = False
    watched = (project.content_dir, project.templates_dir)
    seen = fingerprint(*watched)
    try:
        while server.poll() is None:
            time.sleep(poll_seconds)
            now = fingerprint(*watched)
            if now != seen:
                seen = now
                print("Change detected: rebuilding…", flush=True)
                rebuild(project, log)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
    print("Preview stopped.", flush=True)
    return 0 if interrupted else (server.returncode or 1)


def _interrupt(signum, frame):
    raise KeyboardInterrupt

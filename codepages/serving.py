"""Local preview: build, then serve the site through the real edge function on loopback.

A Deno process (edge/dev/server.ts) serves the output folder the way Netlify does and runs
the edge functions on the routes netlify.toml declares, with the same environment variables
as production. Content and template changes trigger a rebuild; a rebuild with problems
keeps the last good site.

For accounts it also starts, on loopback, a real OpenID Connect provider (dev/oidc/, the
`oidc-provider` npm package: register or sign in with an email, pick a plan) and a private
PostgreSQL server with db/migrations applied (dev/localdb.py), and hands them to the edge
through the production variables (OIDC_*, DATABASE_URL). Variables already set in the
environment win: set OIDC_ISSUER (and the other OIDC_* values) to try a real provider, or
DATABASE_URL to use another database.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from . import sealing
from .errors import ContentError, SetupError
from .pipeline import Log, Project, build

METER_VARIABLE = "CODEPAGES_METER_KEYS"
SESSION_VARIABLE = "CODEPAGES_SESSION_KEYS"
LOCAL_CLIENT_ID = "codepages-local"
LOCAL_ROLE_CLAIM = "https://codepages.example/roles"


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
    try:
        session_keys = sealing.load_keys(environment, project.secrets_dir / "session-keys", variable=SESSION_VARIABLE)
    except sealing.SealKeyError as exc:
        raise SetupError(str(exc)) from None
    environment[SESSION_VARIABLE] = sealing.format_keys(session_keys)
    return environment


class AccountServices:
    """The local OpenID Connect provider and PostgreSQL server of the preview (each optional:
    when one cannot start, the preview says why and serves without accounts)."""

    def __init__(self, root: Path, port: int):
        self.root = root
        self.port = port
        self.database = None
        self.provider: subprocess.Popen | None = None

    def start(self, environment: dict[str, str]) -> None:
        if not environment.get("DATABASE_URL"):
            self._start_database(environment)
        if not environment.get("OIDC_ISSUER"):
            self._start_provider(environment)

    def _start_database(self, environment: dict[str, str]) -> None:
        sys.path.insert(0, str(self.root))
        try:
            from dev.localdb import LocalDatabaseError, LocalPostgres
        finally:
            sys.path.pop(0)
        try:
            database = LocalPostgres()
            self.database = database
            database.start()
            database.apply_migrations(self.root / "db" / "migrations")
        except (LocalDatabaseError, OSError, subprocess.SubprocessError) as error:
            print(f"Accounts: no local database ({error}); free accounts will see gated pages.",
                  file=sys.stderr, flush=True)
            return
        environment["DATABASE_URL"] = database.url
        print(f"Accounts: PostgreSQL on 127.0.0.1:{database.port} (migrations applied)", flush=True)

    def _start_provider(self, environment: dict[str, str]) -> None:
        folder = self.root / "dev" / "oidc"
        node = shutil.which("node")
        npm = shutil.which("npm")
        if node is None:
            print("Accounts: Node.js is not installed, so there is no local sign-in (apt-get install nodejs npm).",
                  file=sys.stderr, flush=True)
            return
        if not (folder / "node_modules" / "oidc-provider").is_dir():
            if npm is None:
                print("Accounts: npm is missing, so the local provider cannot be installed.", file=sys.stderr, flush=True)
                return
            print("Accounts: installing the local OpenID Connect provider (npm ci in dev/oidc)…", flush=True)
            result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=folder,
                                    capture_output=True, text=True)
            if result.returncode != 0:
                print(f"Accounts: npm ci failed:\n{result.stderr[-1500:]}", file=sys.stderr, flush=True)
                return
        secret = secrets.token_urlsafe(24)
        site = f"http://127.0.0.1:{self.port}"
        command = [node, str(folder / "provider.mjs"), "--port", "0", "--client-id", LOCAL_CLIENT_ID,
                   "--role-claim", LOCAL_ROLE_CLAIM, "--subscriber-role", "subscriber"]
        for origin in (site, f"http://localhost:{self.port}"):
            command += ["--redirect-uri", f"{origin}/auth/callback", "--post-logout-uri", f"{origin}/"]
        provider_environment = {k: v for k, v in os.environ.items() if not k.startswith(("OIDC_", "CODEPAGES_"))}
        provider_environment["LOCAL_OIDC_CLIENT_SECRET"] = secret
        self.provider = subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True, env=provider_environment)
        issuer = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.provider.stdout.readline()
            if not line:
                break
            if line.startswith("OIDC provider ready at "):
                issuer = line.split(" at ", 1)[1].strip()
                break
        if issuer is None:
            error = self.provider.stderr.read() if self.provider.poll() is not None else "no answer"
            print(f"Accounts: the local OpenID Connect provider did not start: {error[-1500:]}",
                  file=sys.stderr, flush=True)
            self.stop_provider()
            return
        # keep draining its output so it never blocks on a full pipe
        for stream in (self.provider.stdout, self.provider.stderr):
            threading.Thread(target=_drain, args=(stream,), daemon=True).start()
        environment.update({
            "OIDC_ISSUER": issuer,
            "OIDC_CLIENT_ID": LOCAL_CLIENT_ID,
            "OIDC_CLIENT_SECRET": secret,
            "OIDC_ROLE_CLAIM": LOCAL_ROLE_CLAIM,
            "OIDC_SUBSCRIBER_ROLE": "subscriber",
        })
        print(f"Accounts: local OpenID Connect provider at {issuer} (register with any email, pick a plan)",
              flush=True)

    def stop_provider(self) -> None:
        if self.provider is not None:
            if self.provider.poll() is None:
                self.provider.terminate()
                try:
                    self.provider.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.provider.kill()
            self.provider = None

    def stop(self) -> None:
        self.stop_provider()
        if self.database is not None:
            self.database.stop()
            self.database = None


def allowed_hosts(environment: dict[str, str]) -> str:
    """Loopback, plus the hosts of a provider or database set in the environment (e.g. Auth0)."""
    hosts = ["127.0.0.1"]
    for variable in ("OIDC_ISSUER", "DATABASE_URL"):
        try:
            host = urlsplit(environment.get(variable, "")).hostname
        except ValueError:
            host = None
        if host and host not in hosts:
            hosts.append(host)
    return ",".join(hosts)


def _drain(stream) -> None:
    try:
        for line in stream:
            if "WARNING" not in line:
                print(f"[oidc] {line}", end="", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


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
    services = AccountServices(root, port)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        services.start(environment)
        return _serve(project, root, port, poll_seconds, log, environment)
    except KeyboardInterrupt:
        print("Preview stopped.", flush=True)
        return 0
    finally:
        services.stop()


def _serve(project: Project, root: Path, port: int, poll_seconds: float, log: Log, environment: dict) -> int:
    command = [
        deno_binary(), "run", "--quiet", "--config", str(root / "edge" / "deno.json"),
        f"--allow-net={allowed_hosts(environment)}", "--allow-read", "--allow-env",
        str(root / "edge" / "dev" / "server.ts"), "--site", str(project.out_dir),
        "--toml", str(root / "netlify.toml"), "--functions", str(root / "edge" / "functions"), "--port", str(port),
    ]
    server = subprocess.Popen(command, cwd=root, env=environment)
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

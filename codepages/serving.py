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

The site is served as http://127.0.0.1:PORT/ and the provider as http://localhost:PORT2/, so
the browser keeps their cookies apart. Open pages reload by themselves after a rebuild: file
changes are watched with `watchfiles` (polling when it is not installed), and the edge server
pushes a reload event to the pages (edge/dev/server.ts --live-reload).
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import IO
from urllib.parse import urlsplit

from . import sealing
from .errors import ContentError, SetupError
from .log import Log
from .pipeline import build, load
from .project import Project

METER_VARIABLE = "CODEPAGES_METER_KEYS"
SESSION_VARIABLE = "CODEPAGES_SESSION_KEYS"
LOCAL_CLIENT_ID = "codepages-local"
LOCAL_ROLE_CLAIM = "https://codepages.example/roles"
PROVIDER_START_SECONDS = 30.0  # the local provider's wait to say it is ready


def deno_binary() -> str:
    try:
        import deno  # the `deno` package on PyPI ships the binary
        return str(deno.find_deno_bin())
    except (ImportError, FileNotFoundError):
        raise SetupError("Deno is needed for the preview: run 'make serve' (it installs what the preview needs), "
                         "or '.venv/bin/pip install -r dev/requirements-preview.txt' (package 'deno')") from None


def edge_environment(project: Project) -> dict[str, str]:
    """The variables the edge function reads in production, with development keys locally.

    The seal key must be the build's (sealing.load_keys). The meter and session keys are the
    edge's alone: a value set in the environment is passed on unchanged and checked by the edge
    with its own limits (edge/lib/limits.ts; the preview prints any problem at start), and only
    when unset is a development key made in the project's .dev-secrets/.
    """
    environment = dict(os.environ)
    try:
        seal_keys = sealing.load_keys(environment, project.secrets_dir / "seal-keys")
    except sealing.SealKeyError as exc:
        raise SetupError(str(exc)) from None
    environment[sealing.VARIABLE] = sealing.format_keys(seal_keys)
    for variable, file in ((METER_VARIABLE, "meter-keys"), (SESSION_VARIABLE, "session-keys")):
        if (environment.get(variable) or "").strip():
            continue
        try:
            keys = sealing.load_keys(environment, project.secrets_dir / file, variable=variable)
        except sealing.SealKeyError as exc:
            raise SetupError(str(exc)) from None
        environment[variable] = sealing.format_keys(keys)
    return environment


class AccountServices:
    """The local OpenID Connect provider and PostgreSQL server of the preview (each optional:
    when one cannot start, the preview says why and serves without accounts)."""

    def __init__(self, root: Path, port: int):
        self.root = root
        self.port = port
        self.database: subprocess.Popen[str] | None = None
        self.provider: subprocess.Popen[str] | None = None

    def start(self, environment: dict[str, str]) -> None:
        if not environment.get("DATABASE_URL"):
            self._start_database(environment)
        if not environment.get("OIDC_ISSUER"):
            self._start_provider(environment)

    def _start_database(self, environment: dict[str, str]) -> None:
        """dev/localdb.py in its own process: it prints the URL, and stops when our pipe closes."""
        script = self.root / "dev" / "localdb.py"
        self.database = subprocess.Popen([sys.executable, str(script), "serve"], cwd=self.root, text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.database.stdout is not None and self.database.stderr is not None
        line = self.database.stdout.readline().strip()
        if not line.startswith("DATABASE_URL="):
            reason = line.removeprefix("ERROR ") or (self.database.stderr.read()[-800:] if self.database.poll() is not None
                                                     else "no answer")
            print(f"Accounts: no local database ({reason}); free accounts, sessions and the guest network "
                  "allowance are off.", file=sys.stderr, flush=True)
            self.stop_database()
            return
        for stream in (self.database.stdout, self.database.stderr):
            threading.Thread(target=_drain, args=(stream, "[db] "), daemon=True).start()
        environment["DATABASE_URL"] = line.split("=", 1)[1]
        port = urlsplit(environment["DATABASE_URL"]).port
        print(f"Accounts: PostgreSQL on 127.0.0.1:{port} (migrations applied)", flush=True)

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
        # the provider is `localhost`, the site 127.0.0.1: different hosts, so no shared cookies
        command = [node, str(folder / "provider.mjs"), "--port", "0", "--public-host", "localhost",
                   "--client-id", LOCAL_CLIENT_ID, "--role-claim", LOCAL_ROLE_CLAIM, "--subscriber-role", "subscriber",
                   "--redirect-uri", f"{site}/auth/callback", "--post-logout-uri", f"{site}/", "--exit-with-stdin"]
        provider_environment = {k: v for k, v in os.environ.items() if not k.startswith(("OIDC_", "CODEPAGES_"))}
        provider_environment["LOCAL_OIDC_CLIENT_SECRET"] = secret
        self.provider = subprocess.Popen(command, cwd=folder, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, env=provider_environment)
        assert self.provider.stdout is not None and self.provider.stderr is not None
        # read in a thread: a provider that starts but never says so must not hold the preview
        # (a blocking readline never returned to look at the deadline)
        issuer = _ready_line(self.provider.stdout, "OIDC provider ready at ", PROVIDER_START_SECONDS)
        if issuer is None:
            error = self.provider.stderr.read() if self.provider.poll() is not None else \
                f"no answer within {PROVIDER_START_SECONDS} s"
            print(f"Accounts: the local OpenID Connect provider did not start: {error[-1500:]}",
                  file=sys.stderr, flush=True)
            self.stop_provider()
            return
        # keep draining its errors so it never blocks on a full pipe (_ready_line drains stdout)
        threading.Thread(target=_drain, args=(self.provider.stderr, "[oidc] "), daemon=True).start()
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

    def stop_database(self) -> None:
        if self.database is not None:
            try:
                if self.database.stdin is not None:
                    self.database.stdin.close()  # localdb.py stops its cluster when its stdin closes
            except OSError:
                pass
            try:
                self.database.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.database.terminate()
                self.database.wait(timeout=10)
            self.database = None

    def stop(self) -> None:
        self.stop_provider()
        self.stop_database()


def allowed_hosts(environment: dict[str, str]) -> str:
    """Loopback, plus the hosts of a provider or database set in the environment (e.g. Auth0)."""
    hosts = ["127.0.0.1", "localhost"]
    for variable in ("OIDC_ISSUER", "DATABASE_URL"):
        try:
            host = urlsplit(environment.get(variable, "")).hostname
        except ValueError:
            host = None
        if host and host not in hosts:
            hosts.append(host)
    return ",".join(hosts)


def _ready_line(stream: IO[str], prefix: str, seconds: float) -> str | None:
    """What follows `prefix` on the first line of `stream` that starts with it, if one comes
    within `seconds`. A thread reads the stream, and after that line drains it (_drain)."""
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:
        try:
            for line in stream:
                if line.startswith(prefix):
                    found.append(line.removeprefix(prefix).strip())
                    break
        except (OSError, ValueError):
            pass
        ready.set()
        if found:
            _drain(stream, "[oidc] ")

    threading.Thread(target=read, daemon=True).start()
    ready.wait(seconds)
    return found[0] if found else None


def _drain(stream: IO[str], prefix: str) -> None:
    try:
        for line in stream:
            if "WARNING" not in line:
                print(f"{prefix}{line}", end="", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def fingerprint(*folders: Path) -> tuple[tuple[str, int, int], ...]:
    return tuple(sorted(
        (str(path), stat.st_mtime_ns, stat.st_size)
        for folder in folders for path in folder.rglob("*") if path.is_file() and (stat := path.stat())
    ))


# One build at a time in the preview process: the rebuilds, and the warm-up before the first one.
_building = threading.Lock()


def warm_up(project: Project) -> None:
    """Load the site once in the background after the preview's first build (which loads
    nothing when the site is up to date), so the first save is rebuilt as fast as the later
    ones: the releases, the records and the resolved catalogue are then in this process's memory."""
    def run() -> None:
        with _building:
            try:
                load(project, Log(quiet=True))
            except (ContentError, SetupError):
                pass  # the rebuild of the next save reports it

    threading.Thread(target=run, daemon=True).start()


def rebuild(project: Project, pages_ready: Callable[[], None] | None = None) -> bool:
    """Build; `pages_ready` is called once the changed pages are published (before the word index)."""
    with _building:
        return _rebuild(project, pages_ready)


def _rebuild(project: Project, pages_ready: Callable[[], None] | None) -> bool:
    log = Log(quiet=True)  # each rebuild timed from its own start
    shown: list[float] = []

    def published() -> None:
        shown.append(log.elapsed)
        if pages_ready is not None:
            pages_ready()

    try:
        result = build(project, log, pages_ready=published)
    except ContentError as error:
        for problem in error.problems.sorted():
            print(problem, file=sys.stderr)
        then = ("still serving the last good site" if has_site(project)
                else "there is no site to serve yet: mend them and start the preview again")
        print(f"{len(error.problems)} problem(s); {then}.", file=sys.stderr, flush=True)
        return False
    early = f" (changed pages served after {shown[0]:.2f} s)" if shown else ""
    print(f"Built {sum(result.pages.values())} pages in {result.seconds:.2f} s{early}", flush=True)
    return True


def has_site(project: Project) -> bool:
    """Whether an earlier build left a site the preview can serve."""
    return (project.out_dir / "index.html").exists()


def serve(project: Project, root: Path, port: int, poll_seconds: float = 0.5) -> int:
    environment = edge_environment(project)
    if not rebuild(project) and not has_site(project):
        return 1
    warm_up(project)  # while the account services start
    services = AccountServices(root, port)
    signal.signal(signal.SIGTERM, _interrupt)
    # Ctrl-C stops the preview and its servers even when its parent ignores SIGINT (Python then
    # leaves it ignored: a pytest-xdist worker, a shell's background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        services.start(environment)
        return _serve(project, root, port, poll_seconds, environment)
    except KeyboardInterrupt:
        print("Preview stopped.", flush=True)
        return 0
    finally:
        services.stop()


def _serve(project: Project, root: Path, port: int, poll_seconds: float, environment: dict[str, str]) -> int:
    command = [
        deno_binary(), "run", "--quiet", "--config", str(root / "edge" / "deno.json"),
        f"--allow-net={allowed_hosts(environment)}", "--allow-read", "--allow-env",
        str(root / "edge" / "dev" / "server.ts"), "--site", str(project.out_dir),
        "--toml", str(root / "netlify.toml"), "--functions", str(root / "edge" / "functions"), "--port", str(port),
        "--live-reload",
    ]
    server = subprocess.Popen(command, cwd=root, env=environment, stdin=subprocess.PIPE, text=True)
    interrupted = False
    stop = threading.Event()

    def watch_server() -> None:
        server.wait()
        stop.set()

    threading.Thread(target=watch_server, daemon=True).start()

    def reload() -> None:
        if server.poll() is None:
            try:
                assert server.stdin is not None
                server.stdin.write("reload\n")  # the edge server tells the open pages to reload
                server.stdin.flush()
            except OSError:
                pass

    def rebuilt() -> None:
        print("Change detected: rebuilding…", flush=True)
        reloaded = False

        def pages_ready() -> None:
            nonlocal reloaded
            reloaded = True
            reload()

        if rebuild(project, pages_ready) and not reloaded:
            reload()

    try:
        for _ in changes((project.content_dir, project.templates_dir), stop, poll_seconds):
            rebuilt()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stop.set()
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
    print("Preview stopped.", flush=True)
    return 0 if interrupted else (server.returncode or 1)


def changes(folders: tuple[Path, ...], stop: threading.Event, poll_seconds: float = 0.5) -> Iterator[object]:
    """Yield once per batch of file changes under `folders` until `stop` is set.

    With `watchfiles` (inotify on Linux): a batch is yielded 30 ms after its last change (so a
    save that writes several files is one rebuild). Without it: the folders are compared every
    `poll_seconds`.
    """
    try:
        import watchfiles
    except ImportError:
        watchfiles = None  # type: ignore[assignment]
    if watchfiles is not None:
        for batch in watchfiles.watch(*folders, stop_event=stop, debounce=400, step=30, yield_on_timeout=False,
                                      raise_interrupt=True, watch_filter=lambda change, path: not path.endswith("~")):
            if batch:
                yield batch
        return
    seen = fingerprint(*folders)
    while not stop.wait(poll_seconds):
        now = fingerprint(*folders)
        if now != seen:
            seen = now
            yield now


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt

"""A private PostgreSQL server on loopback for the local preview and the tests.

Debian's `postgresql` binaries (initdb, pg_ctl, psql) run a throw-away cluster in a temporary
folder on a free port, with a random password; db/migrations/*.sql are applied in name order.
PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` system user
(`runuser`), which the Debian package creates.

    python dev/localdb.py run -- COMMAND…   # start, run COMMAND with DATABASE_URL set, stop
    python dev/localdb.py serve             # start, print `DATABASE_URL=<url>`, stop when stdin closes
    python dev/localdb.py check             # say whether PostgreSQL can be started here
"""
from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "db" / "migrations"


class LocalDatabaseError(RuntimeError):
    pass


def _bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def available() -> str | None:
    """None when a cluster can be started here, else why not."""
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        return "PostgreSQL is not installed (Debian: apt-get install postgresql)"
    if not shutil.which("psql") and not (bin_dir / "psql").exists():
        return "psql is not installed (Debian: apt-get install postgresql-client)"
    if os.geteuid() == 0:
        try:
            import pwd
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no 'postgres' user to run PostgreSQL as"
        if not shutil.which("runuser"):
            return "running as root, and runuser is missing"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalPostgres:
    """start() → url; apply_migrations(); stop(). Everything lives in one temporary folder."""

    def __init__(self, port: int | None = None, user: str = "codepages", database: str = "codepages"):
        reason = available()
        if reason:
            raise LocalDatabaseError(reason)
        self.bin_dir = _bin_dir()
        self.port = port or free_port()
        self.user = user
        self.database = database
        self.password = secrets.token_urlsafe(18)
        self.folder: Path | None = None
        self.started = False

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def _as_owner(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command

    def _run(self, command: list[str], **kwargs) -> subprocess.CompletedProcess:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)
        if result.returncode != 0:
            raise LocalDatabaseError(f"{Path(command[0]).name if command[0] != 'runuser' else command[4]} failed: "
                                     f"{(result.stderr or result.stdout).strip()[-800:]}")
        return result

    def start(self) -> str:
        self.folder = Path(tempfile.mkdtemp(prefix="codepages-pg-"))
        data = self.folder / "data"
        password_file = self.folder / "password"
        password_file.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            shutil.chown(password_file, "postgres", "postgres")
        os.chmod(password_file, 0o600)
        self._run(self._as_owner([str(self.bin_dir / "initdb"), "-D", str(data), "-U", self.user,
                                  f"--pwfile={password_file}", "--auth=scram-sha-256", "-E", "UTF8",
                                  "--no-locale", "--no-sync"]))
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
        self._run(self._as_owner([str(self.bin_dir / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "log"),
                                  "-o", options, "-w", "-t", "60", "start"]))
        self.started = True
        self.psql(f"CREATE DATABASE {self.database}", database="postgres")
        return self.url

    def psql(self, sql: str | None = None, *, file: Path | None = None, database: str | None = None) -> str:
        psql = shutil.which("psql") or str(self.bin_dir / "psql")
        command = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                   "-U", self.user, "-d", database or self.database, "-At"]
        if file is not None:
            command += ["-1", "-f", str(file)]
        if sql is not None:
            command += ["-c", sql]
        environment = {**os.environ, "PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "10"}
        return self._run(command, env=environment).stdout

    def apply_migrations(self, folder: Path = MIGRATIONS) -> list[str]:
        self.psql("CREATE TABLE IF NOT EXISTS codepages_schema_migrations "
                  "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        done = set(self.psql("SELECT name FROM codepages_schema_migrations").split())
        applied = []
        for migration in sorted(folder.glob("*.sql")):
            if migration.name in done:
                continue
            self.psql(f"INSERT INTO codepages_schema_migrations (name) VALUES ('{migration.name}')", file=migration)
            applied.append(migration.name)
        return applied

    def stop(self) -> None:
        if self.folder is None:
            return
        if self.started:
            subprocess.run(self._as_owner([str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"),
                                           "-m", "immediate", "-w", "-t", "30", "stop"]),
                           capture_output=True, timeout=60)
            self.started = False
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def __enter__(self) -> "LocalPostgres":
        try:
            self.start()
            self.apply_migrations()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        reason = available()
        print(reason or "PostgreSQL can be started here")
        return 1 if reason else 0
    if argv[:1] == ["serve"]:
        # for the local preview (codepages/serving.py): it owns our stdin; when it ends, we stop
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            with LocalPostgres() as database:
                print(f"DATABASE_URL={database.url}", flush=True)
                try:
                    sys.stdin.read()
                except KeyboardInterrupt:
                    pass
        except LocalDatabaseError as error:
            print(f"ERROR {error}", flush=True)
            return 1
        return 0
    if argv[:1] == ["run"]:
        command = argv[2:] if argv[1:2] == ["--"] else argv[1:]
        if not command:
            print("usage: localdb.py run -- COMMAND…", file=sys.stderr)
            return 2
        with LocalPostgres() as database:
            print(f"PostgreSQL on 127.0.0.1:{database.port} (migrations applied)", file=sys.stderr, flush=True)
            environment = {**os.environ, "DATABASE_URL": database.url, "CODEPAGES_TEST_DATABASE_URL": database.url}
            return subprocess.run(command, env=environment).returncode
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

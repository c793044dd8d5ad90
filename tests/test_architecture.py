"""The layers import only downwards: views act through the service, the store knows nothing
of what is built on it. ARCHITECTURE.md draws the same rules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "bulk_transcribe"

# package -> packages of ours it must never import (at module level or inside a function)
FORBIDDEN = {
    # `bulk-transcribe ui` starts the web app's server (web/launch.py): one door opens the other.
    "cli": {"runner", "ingest", "engines", "sources", "outputs", "research", "chat"},
    "web": {"runner", "ingest", "engines", "sources", "outputs", "research", "chat", "cli"},
    "service": {"cli", "web"},
    "runner": {"service", "cli", "web", "ingest", "research"},
    "outputs": {"runner", "service", "cli", "web", "engines", "ingest", "research"},
    "engines": {"runner", "service", "cli", "web", "sources", "ingest", "outputs", "store"},
    "sources": {"runner", "service", "cli", "web", "engines", "ingest", "outputs", "store"},
    "ingest": {"runner", "service", "cli", "web", "engines", "outputs", "store"},
    "store": {"runner", "service", "cli", "web", "engines", "sources", "ingest", "outputs", "chat"},
    "research": {"runner", "service", "cli", "web", "engines"},
    # Chat takes its request budget from runner/ratelimit.py, the one the providers share,
    # and reads a provider's Retry-After as the engines do (engines/http_errors.py).
    "chat": {"service", "cli", "web", "ingest", "sources", "research"},
}


PACKAGES = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
BASE_MODULES = (
    "models",
    "errors",
    "settings",
    "redact",
    "media",
    "figures",
    "plurals",
    "net",
    "addresses",
    "links",
    "abortable",
    "truncation",
)


def imported_packages(path: Path) -> set[str]:
    """Our top-level packages a module imports, wherever the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "bulk_transcribe" and len(parts) > 1:
                found.add(parts[1])
    return found


def modules_of(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_it_may(package: str) -> None:
    assert modules_of(package), f"no modules found in {package}"
    crossings = {
        str(path.relative_to(PACKAGE)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in modules_of(package)
    }
    assert {where: what for where, what in crossings.items() if what} == {}


def test_the_views_act_through_the_service() -> None:
    views = modules_of("cli") + modules_of("web")
    assert any("service" in imported_packages(path) for path in modules_of("cli"))
    assert any("service" in imported_packages(path) for path in modules_of("web"))
    assert all(path.suffix == ".py" for path in views)


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from bulk_transcribe.runner import Runner\n")
    assert imported_packages(module) == {"runner"}


@pytest.mark.parametrize("module", BASE_MODULES)
def test_the_base_modules_import_no_package(module: str) -> None:
    assert imported_packages(PACKAGE / f"{module}.py") & PACKAGES == set()

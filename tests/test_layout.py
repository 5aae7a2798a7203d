"""Rules of the code layout, checked on the source tree: rooms stay small, the project package
stays a face and not a heap, and no module reaches into another's private helpers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("keyvault", "alerts")
MAX_MODULE_LINES = 400
MAX_TOP_LEVEL_MODULES = 12


def _modules() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def test_the_project_package_keeps_at_most_twelve_modules_at_its_top() -> None:
    top = sorted(p.name for p in (ROOT / "keyvault").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_passes_four_hundred_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES


def test_no_module_imports_a_private_name_from_another_project_module() -> None:
    offenders = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue
            if node.module.split(".")[0] not in PACKAGES:
                continue
            private = [a.name for a in node.names if a.name.startswith("_")]
            if private:
                offenders.append(f"{path.relative_to(ROOT)}: {node.module} {private}")
    assert offenders == []


def test_no_project_function_is_imported_under_another_name() -> None:
    """Names that collide (a view and the service it calls) are told apart by their module,
    not by aliases; a module may be aliased."""
    offenders = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue
            if node.module.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                if alias.asname and alias.asname != alias.name:
                    target = ROOT.joinpath(*node.module.split("."), alias.name)
                    is_module = target.with_suffix(".py").exists() or target.is_dir()
                    if not is_module:
                        offenders.append(
                            f"{path.relative_to(ROOT)}: {alias.name} as {alias.asname}"
                        )
    assert offenders == []

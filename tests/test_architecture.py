"""The house rules of DESIGN.md, checked on every run: core/ imports no adapter and no adapter's
framework, and adapters never import each other (cli/ is the only composition root). Imports are
read with `ast`, so an import hidden inside a function counts too."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ADAPTERS = ("bot", "api", "web", "channels")
FRAMEWORKS = ("aiogram", "fastapi", "starlette", "jinja2", "uvicorn")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in _imports(path):
            if module.split(".")[0] in forbidden:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


def test_core_imports_no_adapter_and_no_framework():
    assert _offenders("core", ADAPTERS + FRAMEWORKS + ("cli",)) == []


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapters_do_not_import_each_other_or_the_cli(adapter):
    if not (ROOT / adapter).is_dir():
        pytest.skip(f"{adapter}/ does not exist yet")
    others = tuple(a for a in ADAPTERS if a != adapter) + ("cli",)
    assert _offenders(adapter, others) == []


def test_the_rule_catches_a_hidden_import(tmp_path):
    """The checker itself: an import inside a function is still an import."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from aiogram import Bot\n    import api.main\n")
    assert [m for _, m in _imports(module)] == ["aiogram", "api.main"]

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


# ---------------------------------------------------------------- inside core
#
# core/ is made of units: each domain package (alerts, checkin, delivery …, flows) and each
# top-level module (db, errors, locales, people, tick …). The rules:
#  1. no cycle between units (a domain never needs another that needs it back);
#  2. no import inside a function in core/ — the usual way to hide such a cycle;
#  3. the sender's package (delivery) imports no domain that builds on it: those plug in
#     through core.delivery.hooks, registered by core.flows;
#  4. nothing in core imports core.flows but flows itself: it is the top of the domain.
# Alembic's migration scripts are run by Alembic, never imported by the app: not units.

CORE = ROOT / "core"
# Function-level imports allowed in core/, each with its reason. Empty: keep it that way.
FUNCTION_IMPORTS_ALLOWED: dict[str, str] = {}


def _core_files() -> list[Path]:
    return [p for p in sorted(CORE.rglob("*.py")) if "migrations" not in p.relative_to(CORE).parts]


def _unit_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "core" or len(parts) < 2:
        return None
    name = parts[1]
    return name if (CORE / name).is_dir() or (CORE / f"{name}.py").is_file() else None


def _absolute_imports(path: Path) -> list[tuple[int, str]]:
    """Every module an import names, relative imports resolved; `from core import x` names core.x."""
    package = list(path.relative_to(ROOT).with_suffix("").parts)[:-1]  # core/x/y.py and core/x/__init__.py: core.x
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = package[:len(package) - node.level + 1]
                base = ".".join(prefix + ([node.module] if node.module else []))
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _unit_graph() -> dict[str, dict[str, list[str]]]:
    """unit → {unit it imports → [where]}."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in _core_files():
        source = _unit_of(".".join(path.relative_to(ROOT).with_suffix("").parts))
        if source is None:
            continue
        for line, module in _absolute_imports(path):
            target = _unit_of(module)
            if target is not None and target != source:
                graph.setdefault(source, {}).setdefault(target, []).append(f"{path.relative_to(ROOT)}:{line}")
    return graph


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(unit: str) -> None:
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        on_stack.add(unit)
        for other in graph.get(unit, {}):
            if other not in index:
                visit(other)
                low[unit] = min(low[unit], low[other])
            elif other in on_stack:
                low[unit] = min(low[unit], index[other])
        if low[unit] == index[unit]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == unit:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for unit in sorted(set(graph) | {t for targets in graph.values() for t in targets}):
        if unit not in index:
            visit(unit)
    return found


def test_core_units_import_each_other_without_a_cycle():
    graph = _unit_graph()
    problems = []
    for component in _cycles(graph):
        edges = [f"  {a} -> {b}: {', '.join(sorted(set(graph[a][b]))[:3])}"
                 for a in component for b in component if b in graph.get(a, {})]
        problems.append(f"cycle between {', '.join(component)}:\n" + "\n".join(edges))
    assert problems == [], "\n".join(problems)


def test_no_import_hides_in_a_function_inside_core():
    offenders = []
    for path in _core_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    where = f"{path.relative_to(ROOT)}:{node.name}"
                    if where not in FUNCTION_IMPORTS_ALLOWED:
                        offenders.append(f"{path.relative_to(ROOT)}:{inner.lineno} in {node.name}()")
    assert sorted(set(offenders)) == []


def test_the_sender_imports_no_domain_built_on_it():
    above = {"alerts", "checkin", "inbox", "enrolment", "households", "cohorts", "campaigns", "flows"}
    imported = _unit_graph().get("delivery", {})
    assert {unit: where for unit, where in imported.items() if unit in above} == {}


def test_only_flows_imports_flows_inside_core():
    graph = _unit_graph()
    assert sorted(unit for unit, targets in graph.items() if "flows" in targets and unit != "flows") == []


def test_the_cycle_check_finds_a_cycle():
    """The checker itself, on a small graph: a ↔ b and b → c → a is one cycle; d is outside it."""
    graph = {"a": {"b": ["x"]}, "b": {"a": ["y"], "c": ["z"]}, "c": {"a": ["w"]}, "d": {"a": ["v"]}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b": ["x"]}}) == []

"""The shape of the house, read from the source with ast (nothing is imported): no import cycle
among the modules of workbook/, generator/ and opsbook/, click only in the command line, and no
module over MAX_LINES lines except the ones listed below with a reason.

The lists are data: when a module is split, delete its line here."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("workbook", "generator", "opsbook")
MAX_LINES = 450

# Modules allowed over MAX_LINES, each with why (data modules only; none today).
LONG_MODULES: dict[str, str] = {}

# Import cycles allowed, each as the sorted tuple of its modules (none).
KNOWN_CYCLES: set[tuple[str, ...]] = set()

# click, and what speaks for it, only in the command line.
CLI_ONLY = ("click", "opsbook.cli")
CLI_PACKAGE = "opsbook/cli"


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the three packages."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(path: Path, name: str, known: Collection[str] = ()) -> Iterator[str]:
    """Every module named by an import statement of the file, at any depth (inside functions
    too); `from a import b` names a.b when that is a known module, else a."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            subs = [f"{base}.{alias.name}" for alias in node.names]
            yield from subs
            if not all(sub in known for sub in subs):
                yield base


def graph() -> dict[str, set[str]]:
    """Module -> the modules of the three packages it imports."""
    known = modules()
    return {
        name: {m for m in imports(path, name, known) if m in known and m != name}
        for name, path in known.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(tuple(sorted(component)))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_sees_imports_inside_functions() -> None:
    edges = graph()
    # opsbook.api imports the batch only when render_many is called
    assert "opsbook.batch" in edges["opsbook.api"]
    assert "workbook.spec" in edges["workbook.reader"]


def test_no_import_cycle() -> None:
    found = set(cycles(graph()))
    assert found <= KNOWN_CYCLES, f"import cycles: {sorted(found - KNOWN_CYCLES)}"
    gone = KNOWN_CYCLES - found
    assert not gone, f"no longer cycles, delete them from KNOWN_CYCLES: {sorted(gone)}"


def test_packages_import_one_way_opsbook_generator_workbook() -> None:
    """workbook/ reads (no Office writing, no application); generator/ writes Office files from
    it; opsbook/ is the application over both. No import goes back up."""
    rank = {package: i for i, package in enumerate(("workbook", "generator", "opsbook"))}
    upward = sorted(
        f"{name} imports {target}"
        for name, targets in graph().items()
        for target in targets
        if rank[target.partition(".")[0]] > rank[name.partition(".")[0]]
    )
    assert not upward


def test_click_is_imported_only_by_the_command_line() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {m}"
        for name, path in modules().items()
        if not str(path.relative_to(ROOT)).startswith(CLI_PACKAGE)
        for m in imports(path, name)
        if any(m == c or m.startswith(f"{c}.") for c in CLI_ONLY)
    ]
    assert not offenders


def test_no_module_is_longer_than_the_limit_except_those_listed() -> None:
    lengths = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in modules().values()
    }
    long = {p for p, n in lengths.items() if n > MAX_LINES}
    unlisted = sorted(f"{p} ({lengths[p]} lines)" for p in long - set(LONG_MODULES))
    assert not unlisted, f"over {MAX_LINES} lines: {unlisted}"
    short = sorted(p for p in set(LONG_MODULES) - long)
    assert not short, f"now within {MAX_LINES} lines, delete from LONG_MODULES: {short}"

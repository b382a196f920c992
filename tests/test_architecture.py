"""The shape of the medlab package: no import cycle between its modules (counting the
imports run when a module is loaded), no library code that knows about Snakemake, and no
module that no test imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import medlab

PACKAGE_DIR = Path(medlab.__file__).resolve().parent
# the report lists the versions of the packages the run used, snakemake among them
MAY_NAME_SNAKEMAKE = {"medlab.report.runinfo"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path
    for path in sorted(PACKAGE_DIR.rglob("*.py"))
    if "__pycache__" not in path.parts
}


def _load_time_statements(body: list[ast.stmt]):
    """Statements run when the module is imported: not function or class bodies' nested defs,
    but the branches of module-level if / try / with blocks."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        yield node
        for field in ("body", "orelse", "finalbody"):
            yield from _load_time_statements(getattr(node, field, []) or [])
        for handler in getattr(node, "handlers", []) or []:
            yield from _load_time_statements(handler.body)


def _imported_modules(module: str, path: Path, deferred: bool = False) -> set[str]:
    """medlab modules that ``module`` imports when it is loaded (with ``deferred``, also
    the imports inside its functions)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    statements = ast.walk(tree) if deferred else _load_time_statements(tree.body)
    found = set()
    for node in statements:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from package import module` imports a module; `from module import name` does not
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            # importing a.b.c also loads a and a.b
            parts = name.split(".")
            found |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & MODULES.keys()
    found.discard(module)
    return found


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search)."""
    state: dict[str, str] = {}  # "open" while on the stack, "done" afterwards
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for successor in sorted(graph[node]):
            if state.get(successor) == "open":
                return stack[stack.index(successor) :] + [successor]
            if successor not in state and (cycle := visit(successor)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_modules_to_check():
    assert {"medlab.io", "medlab.rag.retrieval", "medlab.rag.corpus"} <= MODULES.keys()


def test_no_import_cycle_between_medlab_modules():
    graph = {module: _imported_modules(module, path) for module, path in MODULES.items()}
    assert graph["medlab.rag.evaluate"] >= {"medlab.rag.rankings"}  # the graph sees imports
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_cycle_through_deferred_imports():
    """An import moved into a function (to keep a heavy dependency off the import path)
    must not hide a dependency that runs both ways."""
    graph = {m: _imported_modules(m, path, deferred=True) for m, path in MODULES.items()}
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle through a deferred import: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def _snakemake_references(tree: ast.Module) -> list[str]:
    """Where a module names Snakemake in code: a name, parameter, attribute or import.
    (Messages may tell the user which snakemake command to run.)"""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "snakemake":
            found.append(f"line {node.lineno}: name snakemake")
        elif isinstance(node, ast.arg) and node.arg == "snakemake":
            found.append(f"line {node.lineno}: parameter snakemake")
        elif isinstance(node, ast.Attribute) and node.attr == "snakemake":
            found.append(f"line {node.lineno}: attribute .snakemake")
        elif isinstance(node, ast.ImportFrom) and node.module == "snakemake.utils":
            continue  # plain helper functions (update_config), not the workflow's job objects
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [alias.name for alias in node.names] + [getattr(node, "module", "") or ""]
            if any(name.split(".")[0] == "snakemake" for name in names):
                found.append(f"line {node.lineno}: imports snakemake")
    return found


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m not in MAY_NAME_SNAKEMAKE))
def test_library_code_does_not_know_snakemake(module):
    """Rules and adapters (workflow_scripts/) unpack Snakemake's input, output and params;
    the library takes paths and data."""
    references = _snakemake_references(ast.parse(MODULES[module].read_text()))
    assert not references, f"{MODULES[module]}: " + "; ".join(references)


def test_snakemake_check_sees_an_adapter_style_function():
    code = "def run(snakemake):\n    return snakemake.input.passages\n"
    assert len(_snakemake_references(ast.parse(code))) == 2


TESTS_DIR = Path(__file__).resolve().parent


def _names_used_by_test_code(tree: ast.Module) -> set[str]:
    """Dotted names a test file imports (anywhere in it), with the packages they load, and
    ``<package>.__main__`` for each ``"-m", "<package>"`` pair in a list or tuple literal
    (a module run as a program, which cannot be imported)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # `from package import module` imports a module; `from module import name` does not
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, (ast.List, ast.Tuple)):
            values = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
            names |= {f"{b}.__main__" for a, b in zip(values, values[1:]) if a == "-m" and b}
    # importing a.b.c also loads the packages a and a.b
    return {".".join(name.split(".")[:i]) for name in names for i in range(1, name.count(".") + 2)}


def test_every_medlab_module_is_imported_by_a_test():
    used = set()
    for path in TESTS_DIR.rglob("*.py"):
        used |= _names_used_by_test_code(ast.parse(path.read_text(), filename=str(path)))
    untested = sorted(MODULES.keys() - used)
    assert not untested, (
        "no test imports "
        + "; ".join(
            f"{module} ({MODULES[module].relative_to(PACKAGE_DIR.parent)})" for module in untested
        )
        + ": add tests/<experiment>/test_<module>.py importing it"
    )


def test_test_import_scan_sees_every_form():
    code = (
        "import medlab.device as device\n"
        "from medlab.rag import summary\n"
        "def test():\n"
        "    from medlab.report.usage import usage_table\n"
        "    command = ['python', '-m', 'medlab.cli', 'predict']\n"
        "from . import sibling\n"
    )
    assert _names_used_by_test_code(ast.parse(code)) == {
        "medlab",
        "medlab.device",
        "medlab.rag",
        "medlab.rag.summary",
        "medlab.report",
        "medlab.report.usage",
        "medlab.report.usage.usage_table",
        "medlab.cli",
        "medlab.cli.__main__",
    }

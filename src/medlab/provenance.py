"""Fingerprints of the library code a workflow script runs, so that rules rerun on code changes.

Snakemake reruns a job when its script file changes, but not when the ``medlab`` modules the
script imports change. ``code_fingerprint`` follows the script's ``medlab`` imports through
the package and hashes what each module does (its syntax tree without docstrings), so a rule
that passes the fingerprint as a param reruns after a logic edit and only then: comments,
docstrings and formatting leave the fingerprint unchanged.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE = "medlab"
PACKAGE_ROOT = Path(__file__).resolve().parent
DIGEST_CHARS = 16


def code_fingerprint(script_path: str | Path, package_root: str | Path = PACKAGE_ROOT) -> str:
    """A short hex digest of the script and every ``medlab`` module it imports, transitively.

    Imports anywhere in a module count (module level and inside functions). A module's parent
    packages count too, since importing it runs their ``__init__``. Raises FileNotFoundError
    naming the script when it does not exist, SyntaxError naming the file that does not parse.
    """
    script_path = Path(script_path)
    if not script_path.is_file():
        raise FileNotFoundError(f"workflow script {script_path} does not exist")
    package_root = Path(package_root).resolve()
    digest = hashlib.sha256(normalized_source(script_path).encode())
    for module in sorted(imported_modules(script_path, package_root)):
        digest.update(f"\0{module}\0".encode())
        digest.update(normalized_source(module_file(module, package_root)).encode())
    return digest.hexdigest()[:DIGEST_CHARS]


def imported_modules(script_path: str | Path, package_root: str | Path = PACKAGE_ROOT) -> set[str]:
    """Dotted names of the ``medlab`` modules the script needs, followed through the package."""
    package_root = Path(package_root).resolve()
    seen: set[str] = set()
    pending = _package_imports(_parse(Path(script_path)), None, package_root)
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        tree = _parse(module_file(module, package_root))
        pending |= _package_imports(tree, module, package_root) - seen
    return seen


def module_file(module: str, package_root: str | Path = PACKAGE_ROOT) -> Path:
    """The source file of a dotted ``medlab`` module name (a package's ``__init__.py``)."""
    relative = Path(*module.split(".")[1:])
    candidate = Path(package_root) / relative
    if candidate.is_dir():
        return candidate / "__init__.py"
    return candidate.with_suffix(".py")


def normalized_source(path: str | Path) -> str:
    """The module's syntax tree without docstrings, as text: comments, docstrings, blank lines
    and line positions do not change it; any change in what the code does does."""
    path = Path(path)
    return _normalized_text(path.read_text(encoding="utf-8"), str(path))


# Both caches are keyed by the file's text, so a long-lived process sees every edit; reading
# a file is cheap next to parsing it.
@functools.cache
def _normalized_text(text: str, filename: str) -> str:
    return ast.dump(_without_docstrings(ast.parse(text, filename=filename)))


@functools.cache
def _parse_text(text: str, filename: str) -> ast.Module:
    return ast.parse(text, filename=filename)


def _parse(path: Path) -> ast.Module:
    return _parse_text(path.read_text(encoding="utf-8"), str(path))


def _without_docstrings(tree: ast.Module) -> ast.Module:
    """``tree`` with the docstrings of its module, classes and functions removed (in place)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and _is_docstring(body[0]):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _package_imports(tree: ast.Module, current: str | None, package_root: Path) -> set[str]:
    """``medlab`` modules imported anywhere in ``tree``, with their parent packages.

    ``current`` is the dotted name of the module the tree belongs to (None for a script);
    relative imports are resolved against it.
    """
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute_module(node, current, package_root)
            found.add(base)
            # ``from medlab.gnn import train`` imports the submodule medlab.gnn.train
            found.update(f"{base}.{alias.name}" for alias in node.names)
    modules = {name for name in found if _is_package_module(name, package_root)}
    return {parent for name in modules for parent in _with_parents(name)}


def _absolute_module(node: ast.ImportFrom, current: str | None, package_root: Path) -> str:
    if not node.level:
        return node.module or ""
    if current is None:
        return node.module or ""
    parts = current.split(".")
    is_package = module_file(current, package_root).name == "__init__.py"
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join(anchor + ([node.module] if node.module else []))


def _is_package_module(name: str, package_root: Path) -> bool:
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return False
    return module_file(name, package_root).is_file()


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts) + 1)]

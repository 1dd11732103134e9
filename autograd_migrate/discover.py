"""Which files a run looks at, and the cheap text test that decides whether to parse one.

Parsing is the expensive step, so a file is parsed only when its bytes mention torch and one of
the names a legacy pattern needs; everything else is never handed to LibCST.
"""

from __future__ import annotations

import ast
import functools
import os
import re
from collections.abc import Iterator
from pathlib import Path

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        ".eggs",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "build",
        "dist",
        "node_modules",
        "site-packages",
    }
)

_CANDIDATE = re.compile(rb"Function|Variable|saved_variables|mark_shared_storage")


def iter_python_files(paths: list[Path]) -> Iterator[Path]:
    """Files named on the command line always; directories recursively, in a stable order.
    A file reached twice through overlapping arguments is yielded once, as first spelled."""
    seen: set[str] = set()
    for path in paths:
        for found in _walk(path) if path.is_dir() else [path]:
            key = os.path.abspath(found)  # no system call per file, unlike resolve()
            if key not in seen:
                seen.add(key)
                yield found


def _walk(path: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not _skipped(root, d))
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(root, name)


def _skipped(root: str, name: str) -> bool:
    return name in SKIP_DIRS or name.endswith(".egg-info") or os.path.exists(os.path.join(root, name, "pyvenv.cfg"))


def module_name(path: Path) -> tuple[str, str, str]:
    """The dotted name `path` is imported under, the package its relative imports start from,
    and the directory that makes it importable: the package chain is followed up through
    `__init__.py` files."""
    absolute = os.path.abspath(path)
    if os.path.islink(absolute):
        absolute = os.path.realpath(absolute)
    package, root = _package_of(_real_directory(os.path.dirname(absolute)))
    name = os.path.basename(absolute)
    if name == "__init__.py":
        return package, package, root
    stem = os.path.splitext(name)[0]
    return f"{package}.{stem}" if package else stem, package, root


@functools.lru_cache(maxsize=4096)
def _real_directory(directory: str) -> str:
    """`os.path.realpath`, once per directory: a tree has far fewer of them than files."""
    return os.path.realpath(directory)


@functools.lru_cache(maxsize=4096)
def _package_of(directory: str) -> tuple[str, str]:
    """The package a directory is ("" outside any) and the directory it is imported from."""
    if not os.path.isfile(os.path.join(directory, "__init__.py")):
        return "", directory
    parent, root = _package_of(os.path.dirname(directory))
    name = os.path.basename(directory)
    return (f"{parent}.{name}" if parent else name), root


# `from .mod import a, b` (dots, module, names) or `import a.b as c, d` (the list)
_IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([\w., \t]*)|import[ \t]+([\w., \t]+))", re.M
)
_MAX_OUTSIDE = 5000


def outside_modules(files: list[Path]) -> list[Path]:
    """Modules of the same project that the run's files import, directly or through other
    such modules, but that are not among the files: a subdirectory run still needs the
    definitions of the classes it calls (and of their bases, and the re-exports on the way)."""
    inside = {os.path.abspath(f) for f in files}
    found: dict[str, Path] = {}
    queue = list(files)
    while queue and len(found) < _MAX_OUTSIDE:
        path = queue.pop()
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for candidate in _imported_files(path, data):
            key = os.path.abspath(candidate)
            if key not in inside and key not in found:
                found[key] = candidate
                queue.append(candidate)
    return sorted(found.values())


def uncovered_roots(files: list[Path], given: list[Path]) -> list[str]:
    """The import roots of the files that the given directories do not hold entirely."""
    covered = [os.path.abspath(p) for p in given if p.is_dir()]
    roots = {_package_of(os.path.dirname(os.path.abspath(f)))[1] for f in files}
    return sorted(root for root in roots if not any(_under(root, c) for c in covered))


def naming_files(roots: list[str], skip: set[str], names: set[str]) -> dict[str, list[Path]]:
    """For each name, the files under `roots` (but not in `skip`) whose text contains it."""
    found: dict[str, list[Path]] = {}
    for path in iter_python_files([Path(r) for r in roots]):
        if os.path.abspath(path) in skip:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for name in names:
            if name.encode() in data:
                found.setdefault(name, []).append(path)
    return found


def _imported_files(path: Path, data: bytes) -> Iterator[Path]:
    from autograd_migrate.index import absolute_module

    package, root = _package_of(os.path.dirname(os.path.abspath(path)))
    for dots, name, names, plain in _IMPORT.findall(data):
        if plain:
            targets = [n.split()[0] for n in plain.decode().split(",") if n.strip()]
        else:
            base = absolute_module(len(dots), name.decode(), package)
            if not base:
                continue
            targets = [base, *(f"{base}.{n.split()[0]}" for n in names.decode().split(",") if n.strip())]
        for target in targets:
            yield from _target_files(root, target)


@functools.lru_cache(maxsize=16384)
def _target_files(root: str, target: str) -> tuple[Path, ...]:
    """The files an import target under `root` runs: the packages on the way, then the module.
    Remembered: a tree imports the same modules from many files, and most of them (stdlib,
    third party) exist nowhere under its roots."""
    parts, files = target.split("."), []
    for i in range(1, len(parts) + 1):
        folder = os.path.join(root, *parts[:i])
        found = [c for c in (os.path.join(folder, "__init__.py"), folder + ".py") if os.path.isfile(c)]
        if not found and not os.path.isdir(folder):
            break
        files += map(Path, found)
    return tuple(files)


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def mentions_any(data: bytes, names: frozenset[str]) -> bool:
    """Whether the text holds one of the identifiers `names` as a whole word (so that a short
    alias such as `R` does not let every file through): one scan, however many names. The
    words are checked in Python: a `\\b` in the pattern would make the scan several times slower,
    and would miss `Fné(` (a bytes pattern sees no boundary after a non-ASCII letter)."""
    if not names:
        return False
    pattern = _alternatives(names)
    found = pattern.search(data)
    while found is not None:
        start, end = found.span()
        if not (_joins(data[start - 1 : start], data[start]) or _joins(data[end : end + 1], data[end - 1])):
            return True
        found = pattern.search(data, start + 1)
    return False


_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _joins(beside: bytes, edge: int) -> bool:
    """Whether the byte `beside` a match continues the identifier at its `edge` byte."""
    return bool(beside) and edge in _WORD and beside[0] in _WORD


@functools.lru_cache(maxsize=8)
def _alternatives(names: frozenset[str]) -> re.Pattern[bytes]:
    return re.compile(b"|".join(re.escape(n.encode()) for n in sorted(names, key=len, reverse=True)))


def mentions_legacy(data: bytes) -> bool:
    """The text test: a file that never names torch and a legacy name is done with here."""
    return b"torch" in data and _CANDIDATE.search(data) is not None


def may_contain_legacy(data: bytes) -> bool:
    """The text test, then CPython's own parser (several times faster than LibCST): only a
    file with something the analysis could report goes on to LibCST. The check is
    deliberately wider than the analysis, never narrower."""
    if not mentions_legacy(data):
        return False
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return True  # LibCST will report it, with its line
    return _Gate(tree).found


class _Gate:
    """Legacy-looking Function classes, constructed Function classes, `Variable`, and the
    deprecated ctx attributes, judged on names alone (aliases of `...Function` included)."""

    def __init__(self, tree: ast.Module) -> None:
        bases = {"Function", "InplaceFunction", "StochasticFunction", "NestedIOFunction"}
        classes: list[ast.ClassDef] = []
        self.found = False
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = {alias.name for alias in node.names}
                bases |= {alias.asname or alias.name for alias in node.names if alias.name.endswith("Function")}
                if "Variable" in names:  # used or not, it is a finding
                    self.found = True
                    return
            elif isinstance(node, ast.ClassDef):
                classes.append(node)
            elif isinstance(node, ast.Attribute) and node.attr in (
                "Variable",
                "saved_variables",
                "mark_shared_storage",
            ):
                self.found = True
                return
        functions = self._function_classes(classes, bases)
        names = {c.name for c in functions}
        self.found = any(self._legacy_looking(c) for c in functions) or any(
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names
            for node in ast.walk(tree)
        )

    @staticmethod
    def _function_classes(classes: list[ast.ClassDef], bases: set[str]) -> list[ast.ClassDef]:
        found: dict[str, ast.ClassDef] = {}
        changed = True
        while changed:  # bases may be other classes of the module
            changed = False
            for c in classes:
                if c.name not in found and any(_last_name(b) in bases or _last_name(b) in found for b in c.bases):
                    found[c.name] = c
                    changed = True
        return list(found.values())

    @staticmethod
    def _legacy_looking(c: ast.ClassDef) -> bool:
        methods = {s.name: s for s in c.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
        if "forward" not in methods:
            return True  # may inherit a legacy forward from a base of the module
        return any(
            not {_last_name(d) for d in methods[name].decorator_list} & {"staticmethod", "classmethod"}
            for name in ("forward", "backward")
            if name in methods
        )


def _last_name(expr: ast.expr) -> str:
    while isinstance(expr, ast.Call):
        expr = expr.func
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return expr.id if isinstance(expr, ast.Name) else ""

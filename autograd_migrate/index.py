"""The project index: every Function class of the run by fully qualified name, so that a call
site in one file is planned with the migration plan of a class defined in another.

Plain, picklable data and no LibCST: built from the first pass over the files (possibly in
several processes) and handed to every file of the second pass; a clean tree never pays for it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from autograd_migrate.discover import module_name

_MAX_HOPS = 16  # re-export chains longer than this are a cycle


@dataclass(frozen=True)
class ClassSummary:
    """What a call site in another module needs to know about a Function class."""

    qualified: str
    name: str
    legacy: bool
    migratable: bool
    inputs: tuple[tuple[str, str | None], ...] = ()  # (name, default as source)
    ctor: tuple[tuple[str, str | None], ...] = ()
    star_inputs: bool = False
    methods: frozenset[str] = frozenset()
    plain_methods: frozenset[str] = frozenset()  # methods that become static and take ctx
    random_init: bool = False  # its constructor draws random numbers
    # for subclasses and bases in other modules: the class statement, and its Function bases
    source: str = ""
    bases: tuple[str, ...] = ()
    outside: str = ""  # the file that defines it, when the paths of the run leave it out

    @property
    def module(self) -> str:
        return self.qualified.rpartition(".")[0]


@dataclass
class ProjectIndex:
    classes: dict[str, ClassSummary] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # "pkg.Fn" -> "pkg.ops.Fn" (re-exports)
    # qualified -> (why, fix level): a call site elsewhere cannot be rewritten (this run)
    blocked: dict[str, tuple[str, str]] = field(default_factory=dict)
    unsafe: set[str] = field(default_factory=set)  # classes with a call site elsewhere fixed unsafely
    names: frozenset[str] = frozenset()  # legacy_names(), fixed once per round: the text pre-filter

    def resolve(self, dotted: str) -> ClassSummary | None:
        """The class a dotted name means, through re-exports and module aliases."""
        for _ in range(_MAX_HOPS):
            if dotted in self.classes:
                return self.classes[dotted]
            head, rest = dotted, ""
            while head and head not in self.aliases:
                head, _, tail = head.rpartition(".")
                rest = f"{tail}.{rest}" if rest else tail
            if not head:
                return None
            dotted = f"{self.aliases[head]}.{rest}" if rest else self.aliases[head]
        return None

    def legacy_names(self) -> set[str]:
        """Spellings under which a legacy class can appear in another file: the text pre-filter."""
        names = {c.name for c in self.classes.values() if c.legacy}
        names |= {alias.rpartition(".")[2] for alias, target in self.aliases.items() if self.resolve(target)}
        return names


def absolute_module(level: int, name: str, package: str) -> str | None:
    """`from ..ops import x` (level 2, name "ops") in package `pkg.models` -> `pkg.ops`."""
    if not level:
        return name
    parts = package.split(".") if package else []
    up = level - 1
    if up > len(parts):
        return None
    base = parts[: len(parts) - up]
    return ".".join([*base, name] if name else base) or None


def collect_aliases(paths: list[Path], index: ProjectIndex) -> dict[str, str]:
    """Re-exports and module aliases (`from .ops import Fn` in `pkg/__init__.py` makes `pkg.Fn`
    mean `pkg.ops.Fn`), read with CPython's parser from the files that can hold them."""
    names = index.legacy_names()
    aliases: dict[str, str] = {}
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if path.name != "__init__.py" and not any(n.encode() in data for n in names):
            continue
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError):
            continue
        module, package, _ = module_name(path)
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                base = absolute_module(node.level, node.module or "", package)
                for alias in node.names if base else ():
                    if alias.name != "*":
                        aliases[f"{module}.{alias.asname or alias.name}"] = f"{base}.{alias.name}"
            elif isinstance(node, ast.Import):
                aliases.update({f"{module}.{a.asname}": a.name for a in node.names if a.asname})
    return {k: v for k, v in aliases.items() if k != v}

"""The project index: every Function class of the run by fully qualified name, so that a call
site in one file is planned with the migration plan of a class defined in another.

Plain, picklable data and no LibCST: built from the first pass over the files (possibly in
several processes) and handed to every file of the second pass; a clean tree never pays for it.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from autograd_migrate.discover import module_name

_MAX_HOPS = 16  # re-export chains longer than this are a cycle
SPACE = "::"


def _spellings(dotted: str, space: str) -> list[str]:
    """A dotted name imported in the root `space`: that root's module first."""
    return [space + dotted, dotted] if space and SPACE not in dotted else [dotted]


def shown(qualified: str) -> str:
    """A qualified name as messages show it, without its root space."""
    return qualified.rpartition(SPACE)[2]


def namespace_aliases(files: list[Path], spaces: dict[str, str]) -> dict[str, str]:
    """Longer spellings of the modules found under directories without `__init__.py`: a file
    run from `src/` imports `src/models/layers/loss.py` as `models.layers.loss` (an implicit
    namespace package), which module_name calls `loss`. Each directory above a module's import
    root, up to the top of the run, gives one spelling: `models.layers.loss` -> `loss`."""
    if len(files) < 2:
        return {}
    top = os.path.commonpath([os.path.abspath(f) for f in files])
    aliases: dict[str, str] = {}
    for path in files:
        module, _, root = module_name(path)
        if root in spaces or not module:
            continue
        head = module.partition(".")[0]
        above, directory = [], root
        while _within(directory, top) and directory != top:
            directory, name = os.path.split(directory)
            above.insert(0, name)
            if all(part.isidentifier() for part in above):
                aliases.setdefault(".".join([*above, head]), head)
    return aliases


def _within(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def spaces_of(files: list[Path]) -> dict[str, str]:
    """The import roots (see ProjectIndex.spaces) that define a module another root defines too."""
    roots: dict[str, set[str]] = {}
    for path in files:
        module, _, root = module_name(path)
        roots.setdefault(module, set()).add(root)
    return {root: root + SPACE for found in roots.values() if len(found) > 1 for root in found}


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
    stateful: bool = False  # split into a plain class and a nested Function: its call sites stay
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
    # "module.name": module-level names that other files of the run may import (engine._imported_elsewhere)
    exported: set[str] = field(default_factory=set)
    names: frozenset[str] = frozenset()  # legacy_names(), fixed once per round: the text pre-filter
    # import roots that hold modules of the same name as another root (two copies of a package,
    # `examples/*/model.py`): their modules are named `ROOT::module` in the index
    spaces: dict[str, str] = field(default_factory=dict)

    def space(self, root: str) -> str:
        return self.spaces.get(root, "")

    # The questions a module's analysis asks (see Recorded): nothing else of the index is read.

    def summary(self, qualified: str) -> ClassSummary | None:
        return self.classes.get(qualified)

    def derived_from(self, qualified: frozenset[str]) -> tuple[ClassSummary, ...]:
        """The classes with a base among `qualified`."""
        return tuple(s for s in self.classes.values() if not qualified.isdisjoint(s.bases))

    def blocked_by(self, qualified: str) -> tuple[str, str] | None:
        return self.blocked.get(qualified)

    def is_unsafe(self, qualified: str) -> bool:
        return qualified in self.unsafe

    def is_exported(self, qualified: str) -> bool:
        return qualified in self.exported

    def resolve(self, dotted: str, space: str = "") -> ClassSummary | None:
        """The class a dotted name means, through re-exports and module aliases; a name
        imported in the root `space` means that root's module first. Failing those, the one
        class whose module and name end the same way (see _by_suffix)."""
        for _ in range(_MAX_HOPS):
            names = _spellings(dotted, space)
            found = next((self.classes[n] for n in names if n in self.classes), None)
            if found is not None:
                return found
            for name in names:
                head, rest = name, ""
                while head and head not in self.aliases:
                    head, _, tail = head.rpartition(".")
                    rest = f"{tail}.{rest}" if rest else tail
                if head:
                    space = head.partition(SPACE)[0] + SPACE if SPACE in head else space
                    dotted = f"{self.aliases[head]}.{rest}" if rest else self.aliases[head]
                    break
            else:
                return self._by_suffix(dotted)
        return None

    def _by_suffix(self, dotted: str) -> ClassSummary | None:
        """A name no root of the run gives (a script that set sys.path itself, an install that
        maps `mypkg` to `src/`): the one class whose name and module end it, or that it ends
        (`mypkg.functions.reverse.GradReverse` for `functions.reverse.GradReverse`)."""
        found = self.ending(dotted)
        return self.classes[found[0]] if len(found) == 1 else None

    def ending(self, dotted: str) -> tuple[str, ...]:
        """The classes (qualified) whose name and module end `dotted`, or that it ends."""
        if "." not in dotted:
            return ()
        return tuple(
            q
            for q in self.classes
            if "." in (name := shown(q)) and (name.endswith("." + dotted) or dotted.endswith("." + name))
        )

    def may_lead_to_class(self, dotted: str, space: str = "", hops: int = 0) -> bool:
        """Whether a dotted name, or a name under it, can mean a class of the index (also
        through an alias of a module above it: `models.ops.Fn` where `models.ops` means `ops`)."""
        for name in _spellings(dotted, space):
            if name in self._prefixes():
                return True
            head = name
            while "." in head and hops < _MAX_HOPS:
                head = head.rpartition(".")[0]
                if head in self.aliases:
                    return self.may_lead_to_class(self.aliases[head] + name[len(head) :], space, hops + 1)
        return False

    def _prefixes(self) -> frozenset[str]:
        """Every key of `classes` and `aliases` and every dotted name above one, kept until either changes."""
        if "_prefix_cache" not in self.__dict__:
            parts = (key.split(".") for key in (*self.classes, *self.aliases))
            self._prefix_cache = frozenset(".".join(p[:i]) for p in parts for i in range(1, len(p) + 1))
        return self._prefix_cache

    def __setattr__(self, name: str, value) -> None:
        super().__setattr__(name, value)
        if name in ("classes", "aliases"):
            self.__dict__.pop("_prefix_cache", None)

    def star_names(self, base: str, space: str = "") -> dict[str, str]:
        """What `from base import *` binds that can lead to an indexed class: name -> dotted."""
        return star_names([*self.classes, *self.aliases], base, space)

    def legacy_names(self) -> set[str]:
        """Spellings under which a legacy class can appear in another file: the text pre-filter."""
        names = {c.name for c in self.classes.values() if c.legacy}
        names |= {alias.rpartition(".")[2] for alias, target in self.aliases.items() if self.resolve(target)}
        return names


class Recorded:
    """The index as one module's analysis sees it, with every question asked and its answer.
    The analysis depends on the index only through these answers: a later round whose index
    gives the same ones (`answers_same`) would analyse the module the same way."""

    def __init__(self, index: ProjectIndex) -> None:
        self._index = index
        self.answers: dict[tuple, object] = {}

    def _ask(self, question: str, *args):
        answer = getattr(self._index, question)(*args)
        self.answers[(question, *args)] = answer
        return answer

    def resolve(self, dotted: str, space: str = "") -> ClassSummary | None:
        return self._ask("resolve", dotted, space)

    def may_lead_to_class(self, dotted: str, space: str = "") -> bool:
        return self._ask("may_lead_to_class", dotted, space)

    def star_names(self, base: str, space: str = "") -> dict[str, str]:
        return self._ask("star_names", base, space)

    def summary(self, qualified: str) -> ClassSummary | None:
        return self._ask("summary", qualified)

    def derived_from(self, qualified: frozenset[str]) -> tuple[ClassSummary, ...]:
        return self._ask("derived_from", qualified)

    def blocked_by(self, qualified: str) -> tuple[str, str] | None:
        return self._ask("blocked_by", qualified)

    def is_unsafe(self, qualified: str) -> bool:
        return self._ask("is_unsafe", qualified)

    def is_exported(self, qualified: str) -> bool:
        return self._ask("is_exported", qualified)

    def ending(self, dotted: str) -> tuple[str, ...]:
        return self._ask("ending", dotted)


def answers_same(index: ProjectIndex, answers: dict[tuple, object]) -> bool:
    return all(getattr(index, question)(*args) == answer for (question, *args), answer in answers.items())


def absolute_module(level: int, name: str, package: str) -> str | None:
    """`from ..ops import x` (level 2, name "ops") in package `pkg.models` -> `pkg.ops`."""
    if not level:
        return name
    space, sep, package = package.rpartition(SPACE)  # a relative import stays in its root's space
    parts = package.split(".") if package else []
    up = level - 1
    if up > len(parts):
        return None
    base = parts[: len(parts) - up]
    found = ".".join([*base, name] if name else base)
    return space + sep + found if found else None


def star_names(keys, base: str, space: str = "") -> dict[str, str]:
    """The public names directly under `base` among dotted `keys` (classes and aliases)."""
    found: dict[str, str] = {}
    for module in _spellings(base, space):
        prefix = module + "."
        for key in keys:
            name = key[len(prefix) :] if key.startswith(prefix) else ""
            if name and "." not in name and not name.startswith("_"):
                found.setdefault(name, key)
    return found


_Imported = tuple[dict[str, str], list[tuple[str, str, str]]]  # aliases, star imports (module, base, space)


class Aliases:
    """Re-exports and module aliases (`from .ops import Fn` in `pkg/__init__.py` makes `pkg.Fn`
    mean `pkg.ops.Fn`), read with CPython's parser from the files that can hold them: every
    `__init__.py`, and the modules that name a legacy class. What a file binds is read once:
    the `__init__.py` files can be read (`read`) before the legacy names are known."""

    def __init__(self) -> None:
        self._read: dict[tuple[Path, str], _Imported] = {}

    def read(self, path: Path, data: bytes, spaces: dict[str, str]) -> _Imported:
        """The aliases one module binds, and its star imports."""
        module, package, root = module_name(path)
        space = spaces.get(root, "")
        key = (path, space)
        if key not in self._read:
            self._read[key] = _imported(data, space + module, space + package, space)
        return self._read[key]

    def collect(self, files: Iterable[tuple[Path, bytes]], index: ProjectIndex) -> dict[str, str]:
        """From the files (path, bytes) that can hold them."""
        aliases: dict[str, str] = {}
        stars: list[tuple[str, str, str]] = []
        for path, data in files:
            found, star = self.read(path, data, index.spaces)
            aliases.update(found)
            stars += star
        for _ in range(_MAX_HOPS):  # star re-exports of star re-exports
            more = {
                f"{module}.{name}": dotted
                for module, base, space in stars
                for name, dotted in star_names([*index.classes, *aliases], base, space).items()
                if f"{module}.{name}" not in aliases
            }
            if not more:
                break
            aliases.update(more)
        return {k: v for k, v in aliases.items() if k != v}


def _imported(data: bytes, module: str, package: str, space: str) -> _Imported:
    aliases: dict[str, str] = {}
    stars: list[tuple[str, str, str]] = []
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return aliases, stars
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = absolute_module(node.level, node.module or "", package)
            for alias in node.names if base else ():
                if alias.name == "*":
                    stars.append((module, base, space))
                else:
                    aliases[f"{module}.{alias.asname or alias.name}"] = f"{base}.{alias.name}"
        elif isinstance(node, ast.Import):
            aliases.update({f"{module}.{a.asname}": a.name for a in node.names if a.asname})
    return aliases, stars

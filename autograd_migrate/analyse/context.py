"""What one module's names mean, gathered in one cheap pass; scopes and positions on demand.

Scopes cost a walk of their own, so they are worked out only when the analysis first asks:
a module whose imported names no other statement binds never needs them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import libcst as cst
from libcst.helpers import get_full_name_for_node

from autograd_migrate.analyse.scopes import Binding, Scope, Scopes
from autograd_migrate.index import absolute_module
from autograd_migrate.positions import Positions
from autograd_migrate.syntax import children

FUNCTION_BASES = frozenset(
    {
        "torch.autograd.Function",
        "torch.autograd.function.Function",
        "torch.autograd.function.InplaceFunction",
    }
)
# Bases whose API modern autograd no longer runs: such classes are reported, never rewritten.
_STOCHASTIC = "StochasticFunction was removed in torch 0.4; rewrite it with torch.distributions and a modern Function"
REMOVED_BASES = {
    "torch.autograd.StochasticFunction": _STOCHASTIC,
    "torch.autograd.stochastic_function.StochasticFunction": _STOCHASTIC,
    "torch.autograd.function.NestedIOFunction": (
        "NestedIOFunction (forward_extended/backward_extended) does not run on modern autograd; "
        "rewrite it as a modern Function"
    ),
}
VARIABLE = frozenset({"torch.autograd.Variable", "torch.autograd.variable.Variable"})
WATCHED_ATTRS = frozenset({"Variable", "saved_variables", "mark_shared_storage"})
_STORE_PARENTS = (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For, cst.CompFor, cst.AsName, cst.Del)


class Survey:
    """One walk of the tree (see `syntax.children`): parents, imports, classes and the names
    the analysis looks up."""

    def __init__(self, module: cst.Module) -> None:
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self.classes: list[cst.ClassDef] = []
        self.imports: list[cst.Import | cst.ImportFrom] = []
        self.names: dict[str, list[cst.Name]] = defaultdict(list)
        self.attributes: dict[str, list[cst.Attribute]] = defaultdict(list)
        self.calls: list[cst.Call] = []  # calls of a bare name: `Fn(...)`
        stack: list[cst.CSTNode] = [module]
        while stack:  # pre-order, in source order
            node = stack.pop()
            self._note(node)
            found = children(node)
            for child in found:
                self.parents[child] = node
            stack += reversed(found)

    def _note(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Name):
            self.names[node.value].append(node)
        elif isinstance(node, cst.Attribute) and node.attr.value in WATCHED_ATTRS:
            self.attributes[node.attr.value].append(node)
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
            self.calls.append(node)
        elif isinstance(node, cst.ClassDef):
            self.classes.append(node)
        elif isinstance(node, (cst.Import, cst.ImportFrom)):
            self.imports.append(node)


class ImportTable:
    """Local name -> dotted origin, from every import statement of the module (relative ones
    from `package`)."""

    def __init__(self, imports: list[cst.Import | cst.ImportFrom], package: str = "") -> None:
        self.origin: dict[str, str] = {}
        self.star: set[str] = set()
        for imp in imports:
            if isinstance(imp, cst.Import):
                for alias in imp.names:
                    full = get_full_name_for_node(alias.name) or ""
                    if alias.asname is not None:
                        self.origin[alias.evaluated_alias] = full
                    else:
                        head = full.split(".")[0]
                        self.origin[head] = head
            else:
                name = get_full_name_for_node(imp.module) or "" if imp.module is not None else ""
                source = absolute_module(len(imp.relative), name, package)
                if not source:
                    continue
                if isinstance(imp.names, cst.ImportStar):
                    self.star.add(source)
                    continue
                for alias in imp.names:
                    self.origin[alias.evaluated_alias or alias.evaluated_name] = f"{source}.{alias.evaluated_name}"

    def qualify(self, expr: cst.CSTNode) -> set[str]:
        dotted = get_full_name_for_node(expr)
        if not dotted:
            return set()
        head, _, rest = dotted.partition(".")
        if head in self.origin:
            return {self.origin[head] + (f".{rest}" if rest else "")}
        return {f"{source}.{dotted}" for source in self.star}

    def imports_torch(self) -> bool:
        return any(v == "torch" or v.startswith("torch.") for v in self.origin.values()) or any(
            s == "torch" or s.startswith("torch.") for s in self.star
        )


class ModuleContext:
    """One parse of one file, with the facts every analysis step asks for."""

    def __init__(self, module: cst.Module, positions: Positions | None = None, package: str = "") -> None:
        self.module = module
        self.survey = Survey(module)
        self.imports = ImportTable(self.survey.imports, package)
        self._scopes: Scopes | None = None
        self._positions = positions
        self._code: dict[cst.CSTNode, str] = {}

    # -- computed on demand ----------------------------------------------------------------
    def scope_of(self, node: cst.CSTNode) -> Scope | None:
        if self._scopes is None:
            self._scopes = Scopes(self.module)
        return self._scopes.of(node)

    def bindings(self, node: cst.CSTNode, name: str) -> list[Binding]:
        """The bindings of `name` in the scope `node` is evaluated in (that scope alone)."""
        scope = self.scope_of(node)
        return scope.bound(name) if scope is not None else []

    def code(self, node: cst.CSTNode) -> str:
        """A node's source, remembered: every round of a project run indexes the same classes."""
        if node not in self._code:
            self._code[node] = self.module.code_for_node(node)
        return self._code[node]

    def pos(self, node: cst.CSTNode) -> tuple[int, int]:
        if self._positions is None:
            self._positions = Positions(self.module)
        return self._positions.of(node)

    # -- tree navigation -------------------------------------------------------------------
    def parent(self, node: cst.CSTNode | None) -> cst.CSTNode | None:
        return self.survey.parents.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        node = self.survey.parents.get(node)
        while node is not None:
            yield node
            node = self.survey.parents.get(node)

    def is_store(self, node: cst.CSTNode) -> bool:
        """Whether `node` is assigned to (or deleted), looking through tuple unpacking."""
        child, parent = node, self.parent(node)
        while isinstance(parent, (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
            child, parent = parent, self.parent(parent)
        if isinstance(parent, cst.NamedExpr):
            return parent.target is child
        if isinstance(parent, _STORE_PARENTS):
            return getattr(parent, "target", getattr(parent, "name", None)) is child
        return False

    def is_label(self, name: cst.Name) -> bool:
        """`x.name` or `f(name=...)`: a spelling, not a reference to a variable."""
        parent = self.parent(name)
        return (isinstance(parent, cst.Attribute) and parent.attr is name) or (
            isinstance(parent, cst.Arg) and parent.keyword is name
        )

    def sole_references(self, imp: cst.Import | cst.ImportFrom, local: str) -> list[cst.Name] | None:
        """The uses of `local` when `imp` is the only statement in the module that binds it
        (then each use means the import, whatever the scope); None when anything else might."""
        refs = []
        for name in self.survey.names[local]:
            if imp in self.ancestors(name):
                continue
            if self.is_label(name):
                continue
            if self._binds(name):
                return None
            refs.append(name)
        return refs

    def _binds(self, name: cst.Name) -> bool:
        parent = self.parent(name)
        if self.is_store(name) or isinstance(parent, cst.NameItem):  # `global`/`nonlocal` too
            return True
        if isinstance(parent, (cst.Param, cst.FunctionDef, cst.ClassDef)) and parent.name is name:
            return True
        if type(parent).__name__.startswith("Match"):  # capture patterns
            return True
        return any(isinstance(a, (cst.Import, cst.ImportFrom)) for a in self.ancestors(name))  # another import

    def class_references(self, cls: cst.ClassDef) -> tuple[list[cst.Name], bool]:
        """The names that refer to `cls`, in source order, and whether the class name is bound
        elsewhere too (`try: from ext import Fn / except ImportError: class Fn...`): then a
        name may mean the other binding, and no use of it can be rewritten safely."""
        bindings = self.bindings(cls, cls.name.value)
        refs = [ref for b in bindings if b.node is cls for ref in b.references]
        return sorted(refs, key=self.pos), len(bindings) > 1

    # -- names -----------------------------------------------------------------------------
    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        return self.imports.qualify(node)

    def is_function_base(self, node: cst.CSTNode) -> bool:
        return bool(self.qualified_names(node) & FUNCTION_BASES)

    def removed_base(self, node: cst.CSTNode) -> str | None:
        """Why a base can no longer be migrated, if it is one of those."""
        return next((REMOVED_BASES[n] for n in self.qualified_names(node) if n in REMOVED_BASES), None)

    def is_variable(self, node: cst.CSTNode) -> bool:
        return bool(self.qualified_names(node) & VARIABLE)

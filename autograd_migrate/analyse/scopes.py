"""Which binding each name of a module means, by Python's scoping rules, in one walk.

LibCST's `ScopeProvider` answers the same questions but costs five times the parse (it
rebuilds every node it visits and tracks far more than a migration asks). The analysis only
needs: the scope a node is evaluated in, the bindings of a name in a scope, and the names
that refer to each binding. Rules followed: function, lambda, class and comprehension scopes;
class scopes are invisible from the functions and comprehensions inside them; decorators,
defaults, annotations, bases and a comprehension's first iterable belong to the enclosing
scope; `global` and `nonlocal` move a name's bindings; `:=` binds outside its comprehension.
Bindings are not ordered: a name bound twice in a scope means either binding everywhere,
which is what the analysis needs to refuse it.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from autograd_migrate.syntax import children

_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)
_BUILTINS = frozenset(dir(builtins))


@dataclass(eq=False)
class Binding:
    name: str
    node: cst.CSTNode  # the ClassDef, FunctionDef, Param, Import/ImportFrom, or the Name stored to
    scope: Scope
    references: list[cst.Name] = field(default_factory=list)


@dataclass(eq=False)
class Scope:
    kind: str  # "module", "class", "function" (lambdas too) or "comprehension"
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    declared_global: set[str] = field(default_factory=set)
    declared_nonlocal: set[str] = field(default_factory=set)

    def bound(self, name: str) -> list[Binding]:
        """The bindings of `name` in this scope itself."""
        return self.bindings.get(name, [])

    def resolve(self, name: str) -> list[Binding]:
        """The bindings a use of `name` here means; none for a builtin or an undefined name."""
        scope: Scope | None = self
        here = True
        while scope is not None:
            if name in scope.declared_global:
                return self.module().bound(name)
            if name not in scope.declared_nonlocal and (here or scope.kind != "class") and name in scope.bindings:
                return scope.bindings[name]
            scope, here = scope.parent, False
        return []

    def is_builtin(self, name: str) -> bool:
        return name in _BUILTINS and not self.resolve(name)

    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def enclosing(self) -> Iterator[Scope]:
        """This scope and the ones around it, innermost first."""
        scope: Scope | None = self
        while scope is not None:
            yield scope
            scope = scope.parent


class Scopes:
    """The scope of every node of a module, and every binding with its references."""

    def __init__(self, module: cst.Module) -> None:
        self.module = Scope("module", None)
        self._of: dict[cst.CSTNode, Scope] = {}
        self._stores: list[tuple[Scope, str, cst.CSTNode]] = []
        self._loads: list[tuple[Scope, cst.Name]] = []
        self._walk(module)
        for scope, name, node in sorted(self._stores, key=lambda store: store[1] in store[0].declared_nonlocal):
            self._home(scope, name).bindings.setdefault(name, []).append(Binding(name, node, scope))
        for scope, name_node in self._loads:
            for binding in scope.resolve(name_node.value):
                binding.references.append(name_node)

    def of(self, node: cst.CSTNode) -> Scope | None:
        """The scope `node` is evaluated in (a function's name and decorators: the enclosing one)."""
        return self._of.get(node)

    def _home(self, scope: Scope, name: str) -> Scope:
        """Where a store of `name` in `scope` binds it."""
        if name in scope.declared_global:
            return self.module
        if name in scope.declared_nonlocal:
            outer = scope.parent
            while outer is not None and (outer.kind == "class" or name not in outer.bindings):
                outer = outer.parent
            return outer or self.module
        return scope

    # -- the walk --------------------------------------------------------------------------
    def _walk(self, module: cst.Module) -> None:
        # (node, scope, role): role "load" (a Name is a use), "store", "both" (`x += 1`) or
        # "label" (`obj.attr`, `f(key=...)`: a spelling, not a variable)
        stack: list[tuple[cst.CSTNode, Scope, str]] = [(module, self.module, "load")]
        while stack:
            node, scope, role = stack.pop()
            self._of[node] = scope
            found = self._visit(node, scope, role)
            stack += reversed(found)

    def _visit(self, node: cst.CSTNode, scope: Scope, role: str) -> list[tuple[cst.CSTNode, Scope, str]]:
        kind = type(node)
        if kind is cst.Name:
            if role != "label":
                if role != "load":
                    self._stores.append((scope, node.value, node))
                if role != "store":
                    self._loads.append((scope, node))
            return []
        if role != "load" and kind in _UNPACKED:  # `a, *b = ...`: the elements are stored to
            return (
                [(e.value, scope, role) for e in node.elements]
                if kind in (cst.Tuple, cst.List)
                else [(node.value, scope, role)]
            )
        special = self._special.get(kind)
        if special is not None:
            return special(self, node, scope)
        special_field = _FIELD_ROLES.get(kind)
        if special_field is None:
            return [(child, scope, "load") for child in children(node)]
        marked = getattr(node, special_field[0])
        return [(child, scope, special_field[1] if child is marked else "load") for child in children(node)]

    def _lambda(self, node: cst.Lambda, scope: Scope) -> list[tuple[cst.CSTNode, Scope, str]]:
        inner = Scope("function", scope)
        return [*self._parameters(node.params, scope, inner), (node.body, inner, "load")]

    def _walrus(self, node: cst.NamedExpr, scope: Scope) -> list[tuple[cst.CSTNode, Scope, str]]:
        home = next(s for s in scope.enclosing() if s.kind != "comprehension")  # binds outside it
        return [(node.target, home, "store"), (node.value, scope, "load")]

    def _declare(self, node: cst.Global | cst.Nonlocal, scope: Scope) -> list[tuple[cst.CSTNode, Scope, str]]:
        declared = scope.declared_global if type(node) is cst.Global else scope.declared_nonlocal
        declared.update(item.name.value for item in node.names)
        return []

    def _definition(self, node: cst.FunctionDef | cst.ClassDef, scope: Scope) -> list[tuple[cst.CSTNode, Scope, str]]:
        """The name binds outside; decorators, bases, defaults and annotations are read outside."""
        self._stores.append((scope, node.name.value, node))
        if type(node) is cst.ClassDef:
            inner = Scope("class", scope)
            header = [(arg, scope, "load") for arg in (*node.bases, *node.keywords)]
        else:
            inner = Scope("function", scope)
            header = self._parameters(node.params, scope, inner)
            header += [(node.returns, scope, "load")] if node.returns is not None else []
        return [
            *((d, scope, "load") for d in node.decorators),
            (node.name, scope, "label"),
            *header,
            (node.body, inner, "load"),
        ]

    def _parameters(self, params: cst.Parameters, outer: Scope, inner: Scope) -> list[tuple[cst.CSTNode, Scope, str]]:
        self._of[params] = inner
        out: list[tuple[cst.CSTNode, Scope, str]] = []
        every = [*params.posonly_params, *params.params, *params.kwonly_params, params.star_arg, params.star_kwarg]
        for param in every:
            if not isinstance(param, cst.Param):
                continue
            self._of[param] = inner
            self._stores.append((inner, param.name.value, param))
            out.append((param.name, inner, "label"))
            out += [(part, outer, "load") for part in (param.annotation, param.default) if part is not None]
        return out

    def _comprehension(self, node: cst.CSTNode, scope: Scope) -> list[tuple[cst.CSTNode, Scope, str]]:
        inner = Scope("comprehension", scope)
        first: cst.CompFor = node.for_in
        self._of[first] = inner
        parts = [node.key, node.value] if isinstance(node, cst.DictComp) else [node.elt]
        return [
            (first.iter, scope, "load"),  # the first iterable is evaluated outside
            (first.target, inner, "store"),
            *((if_, inner, "load") for if_ in first.ifs),
            *([(first.inner_for_in, inner, "load")] if first.inner_for_in is not None else []),
            *((part, inner, "load") for part in parts),
        ]

    def _import(self, node: cst.Import | cst.ImportFrom, scope: Scope) -> list[tuple[cst.CSTNode, Scope, str]]:
        if isinstance(node.names, cst.ImportStar):
            return []
        for alias in node.names:
            if alias.asname is not None:
                name = alias.evaluated_alias
            elif isinstance(node, cst.Import):
                name = alias.evaluated_name.split(".")[0]  # `import a.b` binds `a`
            else:
                name = alias.evaluated_name
            self._stores.append((scope, name, node))
        return []

    _special = {
        cst.FunctionDef: _definition,
        cst.Lambda: _lambda,
        cst.ClassDef: _definition,
        **dict.fromkeys(_COMPREHENSIONS, _comprehension),
        cst.Import: _import,
        cst.ImportFrom: _import,
        cst.NamedExpr: _walrus,
        cst.Global: _declare,
        cst.Nonlocal: _declare,
    }


_UNPACKED = (cst.Tuple, cst.List, cst.StarredElement)
# what a Name in these fields is: stored to, stored and read (`x += 1`), or a label (`obj.attr`,
# `f(key=...)`: a spelling, not a variable); anywhere else it is read
_FIELD_ROLES: dict[type, tuple[str, str]] = {  # node type -> (field, role)
    **dict.fromkeys((cst.AssignTarget, cst.AnnAssign, cst.For, cst.CompFor), ("target", "store")),
    cst.Del: ("target", "both"),  # `del x` uses the binding it removes, and makes `x` local
    # `with ... as x`, `except ... as x` (imports never get here), `case [*x]`, `case Point() as x`
    **dict.fromkeys((cst.AsName, cst.MatchStar, cst.MatchAs), ("name", "store")),
    cst.MatchMapping: ("rest", "store"),
    cst.AugAssign: ("target", "both"),
    cst.Attribute: ("attr", "label"),
    cst.Arg: ("keyword", "label"),
    cst.MatchKeywordElement: ("key", "label"),
}

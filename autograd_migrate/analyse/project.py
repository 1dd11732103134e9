"""A module's relation to the project: its classes as seen from other modules (summaries),
and the classes of other modules it refers to (external uses)."""

from __future__ import annotations

import os
from collections import Counter

import libcst as cst

from autograd_migrate.analyse.classes import FunctionClass, function_class
from autograd_migrate.analyse.context import ModuleContext
from autograd_migrate.analyse.model import ApplySignature, ClassPlan, Param
from autograd_migrate.index import SPACE, ClassSummary, absolute_module
from autograd_migrate.rules import Finding, Unsupported


def summarize(module: str, fc, code_for_node) -> ClassSummary:
    """`fc` is an analysed FunctionClass of `module`."""
    signature = fc.plan.signature if fc.plan is not None else None
    members = {n for c in fc.family() for n in c.methods}

    def params(ps: list[Param]) -> tuple[tuple[str, str | None], ...]:
        return tuple((p.name, code_for_node(p.default) if p.default is not None else None) for p in ps)

    return ClassSummary(
        qualified=f"{module}.{fc.name}",
        name=fc.name,
        legacy=fc.legacy,
        migratable=fc.plan is not None,
        inputs=params(signature.inputs) if signature else (),
        ctor=params(signature.ctor) if signature else (),
        star_inputs=bool(signature and signature.star_inputs),
        methods=frozenset(members),
        plain_methods=frozenset(n for n in members if fc.is_plain_method(n)),
        random_init=fc.draws_random_at_init(),
        stateful=fc.stateful is not None,
        source=code_for_node(fc.node),
        bases=tuple(b.qualified or f"{module}.{b.name}" for b in fc.bases),
    )


class Outside:
    """The Function classes of other modules in this module's hierarchies, rebuilt from the
    index's sources: bases its classes derive from, subclasses that derive from its classes."""

    def __init__(self, ctx, place) -> None:
        self.ctx, self.module, self.index, self.space = ctx, place.module, place.index, place.space
        self.made: dict[str, FunctionClass | None] = {}

    def base(self, expr: cst.BaseExpression) -> FunctionClass | None:
        for dotted in self.ctx.qualified_names(expr):
            summary = self.index.resolve(dotted, self.space)
            if summary is not None and summary.module != self.module:
                return self._make(summary, {})
        return None

    def subclasses(self, classes: list[FunctionClass]) -> list[FunctionClass]:
        local = {f"{self.module}.{fc.name}": fc for fc in classes}
        found: list[FunctionClass] = []
        while True:
            more = [
                s
                for s in self.index.derived_from(frozenset(local))
                if s.qualified not in local and s.module != self.module
            ]
            made = [fc for fc in (self._make(s, local) for s in more) if fc is not None]
            if not made:
                return found
            local.update((fc.qualified, fc) for fc in made)
            found += made

    def _make(self, summary: ClassSummary, local: dict[str, FunctionClass]) -> FunctionClass | None:
        """None when its source or one of its bases cannot be rebuilt (or they form a cycle)."""
        if summary.qualified in self.made:
            return self.made[summary.qualified]
        self.made[summary.qualified] = None  # a cycle ends here
        bases = []
        for qualified in summary.bases:
            base = local.get(qualified)
            if base is None and (found := self.index.summary(qualified)) is not None:
                base = self._make(found, local)
            if base is None:
                return None
            bases.append(base)
        try:
            origin = ModuleContext(cst.parse_module(summary.source))
        except cst.ParserSyntaxError:
            return None
        node = origin.survey.classes[0]
        fc = function_class(node, bases, origin=origin, qualified=summary.qualified)
        fc.legacy = summary.legacy
        if summary.migratable and self.index.blocked_by(summary.qualified) is None:
            # stands for "migrates in its own module": only whether there is a plan is read
            fc.plan = ClassPlan(node=node, name=summary.name, signature=ApplySignature([], []))
        self.made[summary.qualified] = fc
        return fc


class ExternalClass:
    """A Function class of another module, seen from a call site here (what SiteAnalysis asks)."""

    node = None  # its definition is not in this module

    def __init__(self, summary: ClassSummary, blocked: tuple[str, str] | None) -> None:
        """`blocked`: why a call site elsewhere holds the class back, and that fix's level."""
        self.summary = summary
        self.name = summary.name
        self.legacy = summary.legacy
        self.plan = None
        self.blockers = []
        if blocked is not None:
            reason, level = blocked
            self.blockers.append(Finding.of(Unsupported, (1, 1), applicability=level, cls=self.name, reason=reason))
        if summary.migratable and not blocked:
            sig = ApplySignature(
                [Param(n, _expr(d)) for n, d in summary.inputs],
                [Param(n, _expr(d)) for n, d in summary.ctor],
                summary.star_inputs,
            )
            self.plan = ClassPlan(node=None, name=summary.name, signature=sig)

    def is_method(self, name: str) -> bool:
        return name in self.summary.methods

    def is_plain_method(self, name: str) -> bool:
        return name in self.summary.plain_methods

    def draws_random_at_init(self) -> bool:
        return self.summary.random_init


def _expr(source: str | None) -> cst.BaseExpression | None:
    return cst.parse_expression(source) if source is not None else None


def external_uses(ctx, place):
    """The classes of other modules this module refers to, with the nodes that refer to them
    (a name, or a `module.Name` attribute), and whether an import name is also bound otherwise."""
    uses: dict[str, tuple[ClassSummary, list[cst.CSTNode], bool]] = {}
    index = place.index
    # a name two star imports may bind is ambiguous
    stars = Counter(local for imp in ctx.survey.imports if _is_star(imp) for local, _ in _bindings(imp, place))
    for imp in ctx.survey.imports:
        for local, origin in _bindings(imp, place):
            if not index.may_lead_to_class(origin, place.space) and index.resolve(origin, place.space) is None:
                continue
            for node, rebound in _accesses(ctx, imp, local, stars.get(local, 0) > 1):
                dotted = origin
                summary = index.resolve(dotted, place.space)
                while summary is None and _is_attribute_of(ctx, node):
                    node = ctx.parent(node)
                    dotted = f"{dotted}.{node.attr.value}"
                    summary = index.resolve(dotted, place.space)
                if summary is not None and summary.module != place.module:
                    _, refs, before = uses.get(summary.qualified, (summary, [], False))
                    uses[summary.qualified] = (summary, [*refs, node], before or rebound)
    return list(uses.values())


def ambiguous_imports(ctx, place) -> list[Finding]:
    """Imports under a name no root of the run gives that could mean several of its legacy
    classes (see ProjectIndex.ending): their call sites are not rewritten, so they are reported."""
    found = []
    for imp in ctx.survey.imports:
        for local, origin in _bindings(imp, place):
            if place.index.may_lead_to_class(origin, place.space) or place.index.resolve(origin, place.space):
                continue
            candidates = [q for q in place.index.ending(origin) if (s := place.index.summary(q)) and s.legacy]
            if len(candidates) > 1:
                reason = (
                    f"`{local}` is imported as `{origin}`, which no root of this run gives and which could be "
                    f"any of {', '.join(map(_where, candidates))}: rewrite this module's calls of it by hand"
                )
                found.append(Finding.of(Unsupported, ctx.pos(imp), cls=local, reason=reason))
    return found


def _where(qualified: str) -> str:
    root, space, name = qualified.rpartition(SPACE)
    return f"`{name}` (under {os.path.relpath(root)})" if space else f"`{name}`"


def _accesses(ctx, imp: cst.Import | cst.ImportFrom, local: str, ambiguous: bool = False):
    """(reference, whether `local` is also bound otherwise) for each use of the name `imp`
    binds. A name no other statement binds needs no scope analysis: every use means the import.
    Scopes do not see what a star import binds: any other binding makes its uses ambiguous."""
    sole = ctx.sole_references(imp, local)
    if sole is not None:
        yield from ((node, ambiguous) for node in sole)
        return
    if _is_star(imp):
        uses = [n for n in ctx.survey.names[local] if not ctx.is_label(n)]
        yield from ((node, True) for node in uses)
        return
    bindings = ctx.bindings(imp, local)
    for binding in bindings:
        if binding.node is imp:
            yield from ((ref, len(bindings) > 1) for ref in binding.references)


def _is_attribute_of(ctx, node: cst.CSTNode) -> bool:
    parent = ctx.parent(node)
    return isinstance(parent, cst.Attribute) and parent.value is node


def _is_star(imp: cst.Import | cst.ImportFrom) -> bool:
    return isinstance(imp, cst.ImportFrom) and isinstance(imp.names, cst.ImportStar)


def _bindings(imp: cst.Import | cst.ImportFrom, place):
    """(local name, dotted origin) for each name an import statement binds; for a star
    import, the names the index knows under its module."""
    if isinstance(imp, cst.Import):
        for alias in imp.names:
            full = cst.helpers.get_full_name_for_node(alias.name) or ""
            yield (alias.evaluated_alias, full) if alias.asname else (full.split(".")[0], full.split(".")[0])
        return
    name = cst.helpers.get_full_name_for_node(imp.module) if imp.module else ""
    base = absolute_module(len(imp.relative), name, place.package)
    if base is None:
        return
    if isinstance(imp.names, cst.ImportStar):
        yield from place.index.star_names(base, place.space).items()
        return
    for alias in imp.names:
        yield alias.evaluated_alias or alias.evaluated_name, f"{base}.{alias.evaluated_name}"

"""A legacy Function whose instances keep state from one call to the next (AGM011).

`self.iter_num += 1` in forward, one instance built in a Module or a training script and
called on every step, passed to a loss function in another module: the standard migration has
nowhere to keep that state. Such a class becomes a plain class of the same name, whose
instances hold the state (its constructor, helpers and attributes stay) and apply a nested
static Function when called, passing themselves along. Every construction and call site, in
any module, keeps working unchanged, with the legacy sharing of state between calls.
"""

from __future__ import annotations

import re

import libcst as cst

from autograd_migrate import patterns as m
from autograd_migrate.analyse.classes import (
    CTX_API,
    RESERVED,
    FunctionClass,
    _first_param,
    _free_ctx_name,
    _gradients,
    _own_nodes,
    _super_init_args,
    is_static,
)
from autograd_migrate.analyse.context import ModuleContext
from autograd_migrate.analyse.model import StatefulPlan
from autograd_migrate.rules import (
    Finding,
    HeldInstance,
    InstanceEscapes,
    InstanceReused,
    ModuleInstance,
    SelfIntrospection,
    Unsupported,
)
from autograd_migrate.syntax import find

NESTED = "Function"  # the nested static Function: `Cls.Function.apply(inputs..., self)`
# What only the standard migration cannot do: the state object does it.
# (`self` stays an instance of the class: it is the state object, outside forward and backward too)
_SOLVED = frozenset(
    {InstanceReused.code, InstanceEscapes.code, HeldInstance.code, ModuleInstance.code, SelfIntrospection.code}
)
# a call site in another module that needs the instance (engine._held_back words it)
_HELD_BACK = re.compile(rf"cannot be rewritten \(({InstanceReused.code}|{InstanceEscapes.code})\)$")
_ACCUMULATES = "accumulated across calls of one reused instance"
_SOLVED_REASONS = (
    _ACCUMULATES,
    "its constructor arguments may change before the instance is called",
    "is built from values that are not constants",
    "its constructor draws random numbers",
)


def _needs_the_instance(finding: Finding) -> bool:
    """An instance called again, passed on, returned or read after the call: of a class with
    state, only an instance that lives on reproduces it. (A held or module-level instance has
    fixes of its own, AGM009 and AGM010; a class without state is better called twice.)"""
    return finding.code in (InstanceReused.code, InstanceEscapes.code) or needed_elsewhere(finding.message)


def needed_elsewhere(reason: str) -> bool:
    """A class held back by a call site in another module that needs the instance."""
    return _HELD_BACK.search(reason) is not None


def _has_state(ctx: ModuleContext, fc: FunctionClass) -> bool:
    """Whether a method stores an attribute of its own on `self` (not the ctx's)."""
    for fn in fc.methods.values():
        first = _first_param(fn)
        attrs = find(fn, m.Attribute(value=m.Name(first))) if first else []
        if any(a.attr.value not in CTX_API and ctx.is_store(a) for a in attrs):
            return True
    return False


def solved_by_state(finding: Finding) -> bool:
    """A finding that keeping the instance as the state object answers."""
    return (
        finding.code in _SOLVED
        or needed_elsewhere(finding.message)
        or (finding.code == Unsupported.code and any(r in finding.message for r in _SOLVED_REASONS))
    )


def plan_stateful(
    ctx: ModuleContext, fc: FunctionClass, blockers: list[Finding], site, related: bool
) -> StatefulPlan | None:
    """The plan, when state is all that keeps the class legacy; `site`: the analysis of its
    uses in this module (SiteAnalysis); `related`: it has subclasses or Function bases (in any
    module), which the split cannot carry."""
    node = fc.node
    forward, backward = fc.methods.get("forward"), fc.methods.get("backward")
    if (
        related
        or fc.bases
        or fc.removed
        or not any(_ACCUMULATES in b.message or (_needs_the_instance(b) and _has_state(ctx, fc)) for b in blockers)
        or not all(solved_by_state(b) for b in blockers)
        or len(node.bases) != 1
        or node.keywords
        or node.decorators
        or not ctx.is_function_base(node.bases[0].value)
        or forward is None
        or backward is None
        or any(fn.decorators or is_static(fn) or _first_param(fn) is None for fn in (forward, backward))
        or {"__call__", NESTED} & (fc.methods.keys() | fc.attrs)
        or stateful_uses(ctx, fc.name, [r for r in site.references if fc.node not in ctx.ancestors(r)], False)
    ):
        return None
    params = forward.params
    if params.star_arg is not cst.MaybeSentinel.DEFAULT or params.kwonly_params or params.star_kwarg:
        return None
    if params.posonly_params or backward.params.posonly_params or backward.params.kwonly_params:
        return None
    if _helpers_use_ctx_api(fc) or any(_own_nodes(fn, m.Call(func=m.Name("super"))) for fn in (forward, backward)):
        return None
    init = fc.methods.get("__init__")
    for small in _own_nodes(init, m.Expr()) if init is not None else ():
        args = _super_init_args(ctx, small)
        if args is None:
            continue
        if not m.matches(small, m.Expr(value=m.Call(func=m.Attribute(value=m.Call(func=m.Name("super")))))):
            return None  # `Function.__init__(self)`: the plain class has no such base
        if not all(a.star for a in args):
            return None  # `object.__init__` takes none
    refs = {fn: _first_param_refs(ctx, fn) for fn in (forward, backward)}
    if None in refs.values():
        return None
    n_inputs = len(params.params) - 1
    returns: dict[cst.Return, bool] = {}
    for ret in _own_nodes(backward, m.Return()):
        value = ret.value
        kind = "tuple" if value is not None and m.matches(value, m.Tuple() | m.List()) else None
        if kind is None and value is not None:
            kind = _gradients(ctx, value)
            if kind == "unknown" and n_inputs > 1:
                return None
        returns[ret] = kind == "tuple"
    ctx_name = _free_ctx_name([forward, backward], set())
    state = _free_ctx_name([forward, backward], set(), ("state", "state_", "fstate", "legacy_state"))
    return StatefulPlan(
        node=node, forward=forward, backward=backward, refs=refs, ctx_name=ctx_name, state=state, returns=returns
    )


_GONE = frozenset({"apply", "forward", "backward", *RESERVED})  # what the plain class no longer has


def stateful_uses(ctx: ModuleContext, name: str, refs: list[cst.CSTNode], rebound: bool) -> list[Finding]:
    """Uses of a class split for its state that the split would break: `Fn.apply`,
    `Fn(k).forward(x)`, or a name that may mean something else."""
    found = []
    for ref in refs:
        node, parent = ref, ctx.parent(ref)
        if isinstance(parent, cst.Call) and parent.func is ref:
            node, parent = parent, ctx.parent(parent)
        if rebound:
            reason = "its imported name is bound more than once in this module"
        elif isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value in _GONE:
            reason = f"`.{parent.attr.value}` is used here, which the plain class it becomes has not"
        else:
            continue
        found.append(Finding.of(Unsupported, ctx.pos(ref), cls=name, reason=reason))
    return found


def _first_param_refs(ctx: ModuleContext, fn: cst.FunctionDef) -> dict[cst.Name, bool] | None:
    """Each use of the first parameter: True where it stands for the ctx (`self.saved_tensors`),
    False where for the state; None if the parameter is bound again."""
    first = _first_param(fn)
    scope = ctx.scope_of(fn.body.body[0]) if fn.body.body else None
    if scope is None:
        return {}
    bindings = scope.bound(first)
    if len(bindings) != 1:
        return None
    found = {}
    for ref in bindings[0].references:
        parent = ctx.parent(ref)
        found[ref] = isinstance(parent, cst.Attribute) and parent.value is ref and parent.attr.value in CTX_API
    return found


def _helpers_use_ctx_api(fc: FunctionClass) -> bool:
    """`self.saved_tensors` in a helper: there `self` is the state, not the ctx."""
    helpers = [fn for name, fn in fc.methods.items() if name not in ("forward", "backward")]
    return any(
        a.attr.value in CTX_API
        for fn in helpers
        if (first := _first_param(fn))
        for a in find(fn, m.Attribute(value=m.Name(first)))
    )

"""Find autograd Function classes and plan the migration of each legacy one.

A plan is made only when every use of `self` in the class has an exact modern counterpart;
otherwise the class gets blockers (manual findings) and no plan, so it is never half migrated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from autograd_migrate import patterns as m
from autograd_migrate.analyse.context import ModuleContext
from autograd_migrate.analyse.model import ApplySignature, ClassPlan, MethodPlan, Param, StatefulPlan
from autograd_migrate.index import shown
from autograd_migrate.rules import CtorVarargs, Finding, SelfIntrospection, Unsupported
from autograd_migrate.syntax import find, is_filler, statements

# Members of the modern ctx that legacy code legitimately reads or calls through `self`.
CTX_API = frozenset(
    {
        "save_for_backward",
        "saved_tensors",
        "needs_input_grad",
        "mark_dirty",
        "mark_non_differentiable",
        "set_materialize_grads",
        "to_save",
        "dirty_tensors",
        "non_differentiable",
        "next_functions",
        "requires_grad",
        "metadata",
        "materialize_grads",
        "saved_variables",
        "mark_shared_storage",
    }
)
# Names a class may not use for its own state or methods: the modern ctx owns them.
RESERVED = CTX_API | {
    "apply",
    "name",
    "save_for_forward",
    "saved_for_forward",
    "register_hook",
    "register_prehook",
    "apply_jvp",
    "maybe_clear_saved_tensors",
}
_PROPERTY_DECORATORS = frozenset({"property", "cached_property", "functools.cached_property"})
_NESTED_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
_RANDOM = re.compile(r"rand|normal_|uniform_|bernoulli|multinomial|shuffle|choice|permutation|random")


@dataclass(eq=False)
class FunctionClass:
    """An autograd Function class of this module, legacy or modern; or one of another module
    in the same hierarchy (`origin` set: seen through the project index, never rewritten here)."""

    node: cst.ClassDef
    bases: list[FunctionClass]  # the Function classes it derives from
    methods: dict[str, cst.FunctionDef]
    attrs: set[str]  # class-level names that are not methods
    legacy: bool
    removed: str | None = None  # why its base (StochasticFunction, ...) cannot be migrated
    plan: ClassPlan | None = None
    blockers: list[Finding] = field(default_factory=list)
    others: list[cst.Arg] = field(default_factory=list)  # bases that are not Function classes
    origin: ModuleContext | None = None  # the parse of a class of another module
    qualified: str | None = None  # a class of another module
    stateful: StatefulPlan | None = None  # kept legacy for its state: split instead (analyse.stateful)

    @property
    def name(self) -> str:
        return self.node.name.value

    def lookup(self, name: str) -> tuple[FunctionClass, cst.FunctionDef | None] | None:
        """Where a member is defined along the (in-module) inheritance chain."""
        if name in self.methods:
            return self, self.methods[name]
        if name in self.attrs:
            return self, None
        for base in self.bases:
            found = base.lookup(name)
            if found:
                return found
        return None

    def family(self) -> list[FunctionClass]:
        return [self, *[c for b in self.bases for c in b.family()]]

    def is_method(self, name: str) -> bool:
        found = self.lookup(name)
        return bool(found and found[1] is not None)

    def is_plain_method(self, name: str) -> bool:
        """A method that becomes static and takes ctx: called on an instance, it breaks."""
        found = self.lookup(name)
        return bool(found and found[1] is not None and not is_static(found[1]))

    def draws_random_at_init(self) -> bool:
        _, init = self.lookup("__init__") or (None, None)
        return init is not None and any(
            _RANDOM.search(cst.helpers.get_full_name_for_node(c.func) or "") for c in find(init, m.Call())
        )

    def needs_ctx(self, fn: cst.FunctionDef) -> bool:
        """A helper keeps its first parameter (as ctx) when it uses it or is called unbound."""
        first = _first_param(fn)
        return any(n.value == first for n in find(fn.body, m.Name())) or bool(
            find(self.node, m.Attribute(value=m.Name(self.name), attr=m.Name(fn.name.value)))
        )


def decorator_names(fn: cst.FunctionDef) -> set[str]:
    return {cst.helpers.get_full_name_for_node(d.decorator) or "" for d in fn.decorators}


def is_static(fn: cst.FunctionDef) -> bool:
    return bool(decorator_names(fn) & {"staticmethod", "classmethod"})


def is_property(fn: cst.FunctionDef) -> bool:
    names = decorator_names(fn)
    return bool(names & _PROPERTY_DECORATORS) or any(n.endswith((".setter", ".getter", ".deleter")) for n in names)


def find_function_classes(ctx: ModuleContext, outside=None) -> list[FunctionClass]:
    """Every class whose base is torch's Function, an earlier Function class of the module or
    (`outside(expr)`, project runs) a Function class of another module."""
    found: list[FunctionClass] = []
    for node in ctx.survey.classes:
        bases, others = [], []
        is_function, removed = False, None
        for arg in node.bases:
            if ctx.is_function_base(arg.value):
                is_function = True
            elif (reason := ctx.removed_base(arg.value)) is not None:
                is_function, removed = True, reason
            elif (base := _local_class(arg.value, found) or (outside and outside(arg.value))) is not None:
                bases.append(base)
                is_function = True
            else:
                others.append(arg)
        if is_function:
            found.append(function_class(node, bases, removed=removed, others=others))
    return found


def function_class(node: cst.ClassDef, bases: list[FunctionClass], **kw) -> FunctionClass:
    methods, attrs = _members(node)
    legacy = (
        kw.get("removed") is not None
        or any(not is_static(fn) for n, fn in methods.items() if n in ("forward", "backward"))
        or (
            any(b.legacy for b in bases)
            and not all(n in methods and is_static(methods[n]) for n in ("forward", "backward"))
        )
    )
    return FunctionClass(node, bases, methods, attrs, legacy, **kw)


def _local_class(expr: cst.BaseExpression, known: list[FunctionClass]) -> FunctionClass | None:
    """A base named like exactly one Function class defined earlier in the module."""
    matches = [fc for fc in known if isinstance(expr, cst.Name) and fc.name == expr.value]
    return matches[0] if len(matches) == 1 else None


def _members(node: cst.ClassDef) -> tuple[dict[str, cst.FunctionDef], set[str]]:
    methods: dict[str, cst.FunctionDef] = {}
    attrs: set[str] = set()
    for stmt in node.body.body:
        if isinstance(stmt, cst.FunctionDef):
            methods[stmt.name.value] = stmt
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                targets = []
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    targets = [small.target]
                attrs |= {n.value for t in targets for n in find(t, m.Name())}
        elif isinstance(stmt, cst.ClassDef):
            attrs.add(stmt.name.value)
    return methods, attrs


class _Planner:
    """Plans one legacy class; collects blockers instead of raising at the first one."""

    def __init__(self, ctx: ModuleContext, fc: FunctionClass, all_classes: list[FunctionClass]) -> None:
        """`all_classes`: the module's, and those of other modules in the same hierarchies."""
        self.ctx = ctx
        self.fc = fc
        self.all = all_classes
        self.blockers: list[Finding] = []

    def block(self, node: cst.CSTNode, rule=Unsupported, **kw: object) -> None:
        self.blockers.append(Finding.of(rule, self.ctx.pos(node), cls=self.fc.name, **kw))

    # ---------------------------------------------------------------------------------
    def plan(self) -> ClassPlan | None:
        fc, node = self.fc, self.fc.node
        if fc.removed:
            self.block(node.name, reason=fc.removed)
            return None
        self._check_class_shape()
        own_plain = {n: fn for n, fn in fc.methods.items() if not is_static(fn) and not is_property(fn)}
        for name, fn in fc.methods.items():
            if is_property(fn):
                self.block(fn.name, SelfIntrospection, what=f"the property `{name}`")
            elif name.startswith("__") and name.endswith("__") and name != "__init__":
                self.block(fn.name, reason=f"it defines `{name}`, which has no meaning on the modern ctx")
            elif name in RESERVED:
                self.block(fn.name, reason=f"its method `{name}` collides with a member of the modern ctx")

        init = own_plain.get("__init__")
        forward_cls, forward = self._provider("forward")
        signature = self._signature(forward)
        plan = ClassPlan(node=node, name=fc.name, signature=signature, forward=fc.methods.get("forward"))
        if init is not None:
            self._plan_init(plan, init, forward_cls)

        accesses = {fn: self._self_accesses(fn) for fn in own_plain.values()}
        if self.blockers:
            return None
        written = self._written_attrs()
        ctx_names: dict[cst.FunctionDef, str] = {}
        for fn in accesses:
            if fn is init:
                continue
            extra = [init] if fn is plan.forward and init is not None else []
            ctx_names[fn] = _free_ctx_name([fn, *extra], {r for f in [fn, *extra] for r in accesses.get(f, ())})
        if init is not None:
            ctx_names[init] = ctx_names.get(plan.forward, "ctx") if plan.forward is not None else "ctx"

        for fn, refs in accesses.items():
            for ref in refs:
                plan.renames[ref] = ctx_names[fn]
                self._classify_access(plan, ref, written)
            if fn is not init:
                helper = fn.name.value not in ("forward", "backward")
                droppable = helper and not fc.needs_ctx(fn) and not fn.params.posonly_params
                plan.methods[fn] = MethodPlan(fn, None if droppable else ctx_names[fn])
            if fc.name in _bound_names(self.ctx, fn):
                self.block(
                    fn.name,
                    reason=f"`{fn.name.value}` has a local named `{fc.name}`, which `{fc.name}.X` "
                    "references would then mean",
                )
        self._plan_returns(plan)
        self._check_super_calls(own_plain)
        if init is not None:
            self._check_accumulation(init, accesses)
        return None if self.blockers else plan

    # ---------------------------------------------------------------------------------
    def _check_class_shape(self) -> None:
        node = self.fc.node
        if any(isinstance(a, cst.ClassDef) for a in list(self.ctx.ancestors(node))[1:2]):
            self.block(node.name, reason="it is defined inside another class body")
        if node.keywords:
            self.block(node.keywords[0], reason="its class statement passes keywords (metaclass=...)")
        extra = [a for a in self.fc.others if cst.helpers.get_full_name_for_node(a.value) != "object"]
        if extra or len(self.fc.bases) > 1:
            self.block(node.name, reason="it has several bases (mixins change what `self` can do)")
        for stmt in node.body.body:
            if not isinstance(stmt, (cst.FunctionDef, cst.SimpleStatementLine, cst.ClassDef)):
                self.block(stmt, reason="its body has statements other than methods and attributes")
        for base in self.fc.bases:
            if base.legacy and "__init__" in self.fc.methods and "forward" not in self.fc.methods:
                self.block(
                    self.fc.methods["__init__"].name,
                    reason="a subclass constructor cannot reach the forward it inherits",
                )
            if (
                base.legacy
                and "__init__" not in self.fc.methods
                and base.lookup("__init__")
                and "forward" in self.fc.methods
            ):
                self.block(
                    self.fc.methods["forward"].name,
                    reason="forward overrides a base whose constructor it would have to absorb",
                )

    def _provider(self, name: str) -> tuple[FunctionClass | None, cst.FunctionDef | None]:
        found = self.fc.lookup(name)
        return (found[0], found[1]) if found else (None, None)

    def _signature(self, forward: cst.FunctionDef | None) -> ApplySignature:
        if forward is None:
            return ApplySignature([], [])
        params = [*forward.params.posonly_params, *forward.params.params]
        inputs = [Param(p.name.value, p.default) for p in params[1:]]  # after self / ctx
        _, init = self._provider("__init__")
        ctor = _init_params(init) if init is not None and not is_static(init) else []
        star = isinstance(forward.params.star_arg, cst.Param)
        return ApplySignature(inputs, ctor, star)

    def _plan_init(self, plan: ClassPlan, init: cst.FunctionDef, forward_cls: FunctionClass | None) -> None:
        plan.init = init
        ps = init.params
        varargs = isinstance(ps.star_arg, cst.Param) or ps.star_kwarg is not None
        if varargs and not _only_forwards_varargs(self.ctx, init):
            self.block(init.name, CtorVarargs)
            return
        for stmt in statements(init.body):
            for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
                extra = _super_init_args(self.ctx, small)
                if extra and not varargs:  # `super().__init__(*args, **kwargs)`: Function takes none
                    self.block(small, reason="it passes arguments to the base constructor")
                if extra is not None:
                    plan.deletions.add(small)
        for ret in _own_nodes(init, m.Return()):
            self.block(ret, reason="its constructor returns early")
        moved = plan.signature.ctor
        body_left = [s for s in statements(init.body) if not _only_deleted(s, plan.deletions) and not is_filler(s)]
        if not moved and not body_left:
            return
        forward = plan.forward
        if forward is None or forward_cls is not self.fc:
            self.block(init.name, reason="its constructor has no forward of its own to move into")
            return
        if is_static(forward):
            self.block(
                init.name,
                reason="forward is already static (half migrated): the state its constructor "
                "sets has nowhere to go; finish the migration by hand",
            )
            return
        if moved and (plan.signature.star_inputs or forward.params.kwonly_params):
            self.block(
                forward.name,
                reason="forward takes *args or keyword-only parameters, so constructor parameters cannot be appended",
            )
        # Moving the constructor into forward merges two scopes. Harmless where both bind a
        # name (forward's own assignment wins, after the moved body ran); wrong where one reads
        # as a global what the other binds, and impossible where a parameter appears twice.
        fwd_bound = _bound_names(self.ctx, forward)
        init_bound = _bound_names(self.ctx, init) | {p.name for p in moved}
        fwd_free = _names_in(self.ctx, forward) - fwd_bound
        init_free = _names_in(self.ctx, init) - init_bound
        params = {p.name for p in plan.signature.inputs}
        self_names = {_first_param(forward) or "", _first_param(init) or ""}
        clash = ((init_bound & fwd_free) | (fwd_bound & init_free) | (params & {p.name for p in moved})) - self_names
        if clash:
            self.block(init.name, reason=f"moving the constructor into forward would clash on {sorted(clash)}")

    def _self_accesses(self, fn: cst.FunctionDef) -> list[cst.Name]:
        first = _first_param_node(fn)
        if first is None:
            self.block(fn.name, reason=f"`{fn.name.value}` has no plain first parameter")
            return []
        scope = self.ctx.scope_of(fn.body.body[0]) if fn.body.body else None
        if scope is None:
            return []
        assignments = scope.bound(first.name.value)
        if len(assignments) != 1:
            self.block(fn.name, reason=f"`{fn.name.value}` reassigns `{first.name.value}`")
            return []
        refs = assignments[0].references
        for ref in refs:
            parent = self.ctx.parent(ref)
            if isinstance(parent, cst.Attribute) and parent.value is ref:
                if parent.attr.value in ("__class__", "__dict__"):
                    self.block(parent, SelfIntrospection, what=f"`self.{parent.attr.value}`")
            elif (base := base_method_call(self.ctx, ref)) is not None:
                self._check_base_call(ref, base)
            elif not _is_super_self(self.ctx, ref):
                self.block(ref, SelfIntrospection, what=_describe_bare(self.ctx, ref))
        return refs

    def _check_base_call(self, ref: cst.Name, base: str) -> None:
        """`Base.forward(self, x)` in a subclass is `Base.forward(ctx, x)` once both are static,
        as long as the base's forward takes no constructor arguments it would now miss."""
        owner = next((c for c in self.fc.family()[1:] if c.name == base), None)
        if owner is None:
            self.block(ref, SelfIntrospection, what=f"`self` passed to `{base}`, which is not one of its bases")
        elif self.fc.lookup("__init__") is not None:
            self.block(ref, reason=f"it calls `{base}`'s method directly while constructor arguments move to forward")

    def _written_attrs(self) -> set[str]:
        written = set()
        for member in self.fc.family():
            ctx = member.origin or self.ctx
            for fn in member.methods.values():
                first = _first_param(fn)
                if first is None or is_static(fn):
                    continue
                for attr in find(fn, m.Attribute(value=m.Name(first))):
                    if ctx.is_store(attr):
                        written.add(attr.attr.value)
        return written

    def _classify_access(self, plan: ClassPlan, ref: cst.Name, written: set[str]) -> None:
        parent = self.ctx.parent(ref)
        if not (isinstance(parent, cst.Attribute) and parent.value is ref):
            return
        attr = parent.attr.value
        store = self.ctx.is_store(parent)
        grand = self.ctx.parent(parent)
        is_call = isinstance(grand, cst.Call) and grand.func is parent
        found = self.fc.lookup(attr)
        if found and found[1] is not None:  # a method
            owner, fn = found
            if store:
                self.block(parent, reason=f"it assigns over its method `{attr}`")
            elif attr in ("forward", "backward", "__init__"):
                self.block(parent, reason=f"it calls `self.{attr}` (an unbound call needs hand-written ctx handling)")
            elif is_static(fn):
                plan.class_refs.add(parent)
            elif is_call:
                plan.helper_calls[grand] = owner.needs_ctx(fn)
            elif not owner.needs_ctx(fn):
                plan.class_refs.add(parent)
            else:
                self.block(parent, reason=f"it uses the bound method `self.{attr}` as a value")
            self._check_override(parent, attr, owner)
        elif found:  # a class attribute
            if attr in written:
                self.block(parent, reason=f"`{attr}` is both a class attribute and set on self")
            elif is_call:
                self.block(
                    parent,
                    reason=f"it calls the class attribute `{attr}` through self (a function "
                    "stored there was bound to the instance)",
                )
            else:
                plan.class_refs.add(parent)
                self._check_override(parent, attr, found[0])
        elif attr in written:
            if attr in RESERVED:
                self.block(parent, reason=f"it stores `self.{attr}`, a name the modern ctx reserves")
        elif attr == "saved_variables":
            plan.attr_renames[parent] = "saved_tensors"
        elif attr == "mark_shared_storage":
            stmt = self.ctx.parent(grand) if is_call else None
            if isinstance(stmt, cst.Expr):
                plan.deletions.add(stmt)
            else:
                self.block(parent, reason="it uses `mark_shared_storage` in an expression")
        elif attr not in CTX_API:
            self.block(parent, reason=f"it reads `self.{attr}`, which the class never sets")

    def _check_override(self, node: cst.CSTNode, attr: str, owner: FunctionClass) -> None:
        for other in self.all:
            if other is not owner and owner in other.family() and (attr in other.methods or attr in other.attrs):
                name = shown(other.qualified or other.name)
                self.block(node, reason=f"subclass `{name}` overrides `{attr}`, which `self.{attr}` dispatched to")

    def _plan_returns(self, plan: ClassPlan) -> None:
        """Backward returns one more None per constructor parameter its forward now takes."""
        if not plan.signature.ctor:
            return
        backward = self.fc.methods.get("backward")
        if backward is None:
            if plan.init is not None and any("backward" in b.methods for b in self.fc.family()):
                self.block(self.fc.node.name, reason="it moves constructor parameters but inherits backward")
            return  # no backward at all: torch's own raises, as it did before
        n_inputs = len(plan.signature.inputs)
        for ret in _own_nodes(backward, m.Return()):
            value = ret.value
            literal = value is None or m.matches(value, _DISPLAY | m.Name("None"))
            kind = "display" if literal else _gradients(self.ctx, value)
            if kind == "unknown" and n_inputs > 1:
                self.block(
                    ret,
                    reason="backward returns an expression that may be one gradient or a tuple of "
                    "them; return a tuple display",
                )
            plan.returns[ret] = (n_inputs, kind == "tuple")

    def _check_accumulation(self, init: cst.FunctionDef, accesses: dict[cst.FunctionDef, list[cst.Name]]) -> None:
        """State that `__init__` sets and forward/backward update (`self.n += 1`) only ever
        accumulated across calls of one reused instance; after migration it restarts every call."""
        initialised = {self.ctx.parent(r).attr.value for r in accesses.get(init, ()) if self._stored_attr(r)}
        for fn, refs in accesses.items():
            if fn is init:
                continue
            for ref in refs:
                attr = self.ctx.parent(ref)
                if not (self._stored_attr(ref) and attr.attr.value in initialised):
                    continue
                stmt = self.ctx.parent(attr)
                target = self.ctx.parent(stmt) if isinstance(stmt, cst.AssignTarget) else None
                reads_itself = isinstance(target, cst.Assign) and any(
                    a.attr.value == attr.attr.value for a in find(target.value, m.Attribute(value=m.Name(ref.value)))
                )
                if isinstance(stmt, cst.AugAssign) or reads_itself:
                    self.block(
                        attr,
                        reason=f"`{fn.name.value}` updates `self.{attr.attr.value}`, which the constructor "
                        "set: that state only accumulated across calls of one reused instance",
                    )

    def _stored_attr(self, ref: cst.Name) -> bool:
        attr = self.ctx.parent(ref)
        return isinstance(attr, cst.Attribute) and attr.value is ref and self.ctx.is_store(attr)

    def _check_super_calls(self, plain: dict[str, cst.FunctionDef]) -> None:
        for fn in plain.values():
            for call in _own_nodes(fn, m.Call(func=m.Attribute(value=m.Call(func=m.Name("super"))))):
                stmt = self.ctx.parent(call)
                if not (fn.name.value == "__init__" and _super_init_args(self.ctx, stmt) is not None):
                    self.block(call, reason="it calls a base method through super()")


def plan_classes(ctx: ModuleContext, classes: list[FunctionClass], others: list[FunctionClass] = ()) -> None:
    """Plan every legacy class of the module; `others`: classes of other modules in the same
    hierarchies (a base method a subclass elsewhere overrides cannot be called statically)."""
    for fc in classes:
        if fc.legacy:
            planner = _Planner(ctx, fc, [*classes, *others])
            fc.plan = planner.plan()
            fc.blockers = planner.blockers


def block_related(
    ctx: ModuleContext, classes: list[FunctionClass], references: dict, others: list[FunctionClass] = ()
) -> None:
    """A class migrates only together with the classes it stands or falls with: its family
    (in this module or, `others`, another), and the legacy classes its own methods use (a
    migrated user of a class that stays legacy still cannot run). `references` maps a class
    to the names that refer to it."""
    changed = True
    while changed:
        changed = False
        members = dict.fromkeys(c for x in [*classes, *others] for c in x.family())  # bases elsewhere too
        blocked = [c for c in members if c.legacy and c.plan is None]
        for fc in classes:
            if not fc.legacy or fc.plan is None:
                continue
            reason = next(
                (
                    f"related class `{shown(c.qualified or c.name)}` cannot be migrated"
                    for c in blocked
                    if c in fc.family() or fc in c.family()
                ),
                None,
            )
            reason = reason or next(
                (
                    f"it uses `{c.name}`, which cannot be migrated"
                    for c in blocked
                    if any(fc.node in ctx.ancestors(r) for r in references.get(c, ()))
                ),
                None,
            )
            if reason:
                fc.plan = None
                fc.blockers.append(Finding.of(Unsupported, ctx.pos(fc.node.name), cls=fc.name, reason=reason))
                changed = True


# -- small syntactic helpers ---------------------------------------------------------------
def _first_param_node(fn: cst.FunctionDef) -> cst.Param | None:
    params = [*fn.params.posonly_params, *fn.params.params]
    return params[0] if params else None


def _first_param(fn: cst.FunctionDef) -> str | None:
    first = _first_param_node(fn)
    return first.name.value if first is not None else None


def _init_params(init: cst.FunctionDef) -> list[Param]:
    ps = init.params
    return [Param(p.name.value, p.default) for p in [*ps.posonly_params, *ps.params][1:] + list(ps.kwonly_params)]


def _own_nodes(fn: cst.FunctionDef, matcher) -> list[cst.CSTNode]:
    """Matches inside `fn` that are not inside a nested function, lambda or class."""
    return find(fn, matcher, prune=_NESTED_SCOPES)


def _only_forwards_varargs(ctx: ModuleContext, init: cst.FunctionDef) -> bool:
    """`*args, **kwargs` used only to pass them on to the base constructor
    (`super().__init__(*args, **kwargs)`): Function's takes none, so no caller gave any."""
    ps = init.params
    star = {p.name.value for p in (ps.star_arg, ps.star_kwarg) if isinstance(p, cst.Param)}
    passed = {
        arg.value
        for stmt in statements(init.body)
        if isinstance(stmt, cst.SimpleStatementLine)
        for small in stmt.body
        for arg in _super_init_args(ctx, small) or ()
        if arg.star and isinstance(arg.value, cst.Name)
    }
    uses = [n for n in find(init.body, m.Name()) if n.value in star and not ctx.is_label(n)]
    return bool(star) and all(n in passed for n in uses)


def _super_init_args(ctx: ModuleContext, small: cst.CSTNode) -> list[cst.Arg] | None:
    """The arguments a base-constructor call passes (`super().__init__(...)`,
    `super(Cls, self).__init__(...)`, `Function.__init__(self, ...)`); None for other statements."""
    if not m.matches(small, m.Expr(value=m.Call(func=m.Attribute(attr=m.Name("__init__"))))):
        return None
    owner, args = small.value.func.value, list(small.value.args)
    if m.matches(owner, m.Call(func=m.Name("super"))):
        return args
    return args[1:] if ctx.is_function_base(owner) and args else None


def base_method_call(ctx: ModuleContext, ref: cst.CSTNode) -> str | None:
    """`Base.forward(self, ...)` / `Base.backward(self, ...)` with `ref` as the `self`: the
    spelling of `Base`."""
    arg = ctx.parent(ref)
    call = ctx.parent(arg) if isinstance(arg, cst.Arg) else None
    if not (
        m.matches(call, m.Call(func=m.Attribute(attr=m.Name("forward") | m.Name("backward"))))
        and call.args[0] is arg
        and arg.keyword is None
        and not arg.star
    ):
        return None
    return cst.helpers.get_full_name_for_node(call.func.value)


def _is_super_self(ctx: ModuleContext, ref: cst.Name) -> bool:
    arg = ctx.parent(ref)
    call = ctx.parent(arg) if isinstance(arg, cst.Arg) else None
    if m.matches(call, m.Call(func=m.Name("super"))):
        return True
    # `Function.__init__(self)` in a constructor
    return m.matches(call, m.Call(func=m.Attribute(attr=m.Name("__init__")))) and ctx.is_function_base(call.func.value)


def _describe_bare(ctx: ModuleContext, ref: cst.Name) -> str:
    arg = ctx.parent(ref)
    call = ctx.parent(arg) if isinstance(arg, cst.Arg) else None
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value in ("type", "isinstance"):
        return f"`{call.func.value}(self...)`"
    return f"`{ref.value}` (the first parameter, which becomes ctx) as a value"


def _only_deleted(stmt: cst.BaseStatement, deletions: set) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(s in deletions for s in stmt.body)


def _names_in(ctx: ModuleContext, fn: cst.FunctionDef) -> set[str]:
    """Variable names `fn` mentions (not attribute names or keywords)."""
    first = _first_param(fn)
    names = {n.value for n in find(fn.body, m.Name()) if not ctx.is_label(n)}
    return names - {first} | {
        p.name.value for p in [*fn.params.posonly_params, *fn.params.params, *fn.params.kwonly_params][1:]
    }


def _bound_names(ctx: ModuleContext, fn: cst.FunctionDef) -> set[str]:
    scope = ctx.scope_of(fn.body.body[0]) if fn.body.body else None
    if scope is None:
        return set()
    return set(scope.bindings) - {_first_param(fn)}


_DISPLAY = m.Tuple() | m.List()
_SPLITS = m.Name("split") | m.Name("chunk") | m.Name("unbind") | m.Name("tensor_split")
_TUPLE_CALL = m.Call(func=m.Name("tuple") | m.Name("list") | m.Attribute(attr=_SPLITS))


def _gradients(ctx: ModuleContext, value: cst.BaseExpression, depth: int = 0) -> str:
    """What a returned value holds: "tuple" of gradients, one gradient ("single"), or
    "unknown". Spreading a tensor would silently return its rows, so only known tuples are."""
    if m.matches(value, _DISPLAY | _TUPLE_CALL):
        return "tuple"
    if isinstance(value, (cst.BinaryOperation, cst.UnaryOperation)) or m.matches(value, m.Name("None")):
        return "single"
    if isinstance(value, cst.IfExp) and depth < 3:
        kinds = {_gradients(ctx, value.body, depth + 1), _gradients(ctx, value.orelse, depth + 1)}
        return kinds.pop() if len(kinds) == 1 else "unknown"
    if isinstance(value, cst.Name) and depth < 3 and ctx.scope_of(value) is not None:
        kinds = set()
        for binding in ctx.bindings(value, value.value):
            target = ctx.parent(binding.node)
            assign = ctx.parent(target) if isinstance(target, cst.AssignTarget) else None
            kinds.add(_gradients(ctx, assign.value, depth + 1) if isinstance(assign, cst.Assign) else "unknown")
        return kinds.pop() if len(kinds) == 1 else "unknown"
    return "unknown"


def _free_ctx_name(
    fns: list[cst.FunctionDef],
    own_refs: set[cst.Name],
    candidates: tuple[str, ...] = ("ctx", "ctx_", "fctx", "autograd_ctx", "ctx__"),
) -> str:
    """`ctx` (or the first of other `candidates`), unless the methods already use that name for
    something else."""
    firsts = {p.name for fn in fns if (p := _first_param_node(fn)) is not None}
    used = {n.value for fn in fns for n in find(fn, m.Name()) if n not in own_refs and n not in firsts}
    return next(c for c in candidates if c not in used)

"""Plan the call sites of the module's Function classes: `Fn(args)(x)` -> `Fn.apply(x, args)`.

A site is rewritten only when the arguments can be mapped exactly; anything that lets an
instance (or the class) travel is a blocker of the class, because the travelling value would
break once the class is static.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from autograd_migrate import patterns as m
from autograd_migrate.analyse.classes import FunctionClass, base_method_call, is_static
from autograd_migrate.analyse.context import ModuleContext
from autograd_migrate.analyse.model import ApplySignature, CallSitePlan, HeldPlan, ModuleInstancePlan, Param
from autograd_migrate.analyse.scopes import Binding
from autograd_migrate.rules import (
    Finding,
    HeldInstance,
    InstanceApply,
    InstanceEscapes,
    InstanceReused,
    LegacyCall,
    MethodOutside,
    ModuleInstance,
    Unsupported,
)
from autograd_migrate.syntax import find

_LOOPS = (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
_LITERAL = (
    m.Integer() | m.Float() | m.Imaginary() | m.SimpleString() | m.Name("None") | m.Name("True") | m.Name("False")
)


class _Blocked(Exception):
    def __init__(self, finding: Finding) -> None:
        self.finding = finding


class SiteAnalysis:
    """Sites and blockers of one class."""

    def __init__(
        self,
        ctx: ModuleContext,
        fc: FunctionClass,
        unsafe: bool = False,
        exported: Callable[[str], bool] | None = None,
    ) -> None:
        """`exported(name)`: whether other files may import a module-level name of this module."""
        self.ctx = ctx
        self.fc = fc
        self.unsafe = unsafe  # plan the unsafe fixes too
        self.exported = exported
        self.inlined: list[str] = []  # module-level names of instances whose one call is inlined
        # AGM002/AGM003/AGM009, one per site, with its plan (None when it cannot be rewritten)
        self.site_findings: list[tuple[Finding, CallSitePlan | HeldPlan | None]] = []
        self.blockers: list[Finding] = []
        self.references: list[cst.Name] = []  # every name referring to the class (once run)
        signature = fc.plan.signature if fc.plan is not None else None
        self.signature = signature or ApplySignature([], [])

    def fail(self, rule, node: cst.CSTNode, **kw: object) -> _Blocked:
        return _Blocked(Finding.of(rule, self.ctx.pos(node), cls=self.fc.name, **kw))

    def run(self, references: list[cst.CSTNode] | None = None) -> None:
        """`references`: the names (or `module.Name` attributes) that refer to a class of
        another module; a class of this module finds its own."""
        if references is not None:
            self.references, rebound = references, False
        else:
            self.references, rebound = self.ctx.class_references(self.fc.node)
        if rebound and self.fc.legacy:
            self.blockers.append(
                Finding.of(
                    Unsupported,
                    self.ctx.pos(self.fc.node.name),
                    cls=self.fc.name,
                    reason="its name is bound more than once in this module (another "
                    "definition or an import), so its uses cannot be told apart",
                )
            )
            return
        for ref in self.references:
            try:
                self._reference(ref)
            except _Blocked as blocked:
                self.blockers.append(blocked.finding)

    def _reference(self, ref: cst.Name) -> None:
        ctx, fc = self.ctx, self.fc
        parent = ctx.parent(ref)
        inside = fc.node is not None and fc.node in ctx.ancestors(ref)
        if inside and not (isinstance(parent, cst.Call) and parent.func is ref):
            return  # `Cls.X` inside the class: the class plan handles it; its own calls are sites
        if isinstance(parent, cst.Arg) and isinstance(ctx.parent(parent), cst.ClassDef):
            return  # a subclass: the family check handles it
        if not fc.legacy and not (isinstance(parent, cst.Call) and parent.func is ref):
            return  # a modern class may travel freely; only its construction is suspicious
        if isinstance(parent, cst.Attribute) and parent.value is ref:
            if fc.is_plain_method(parent.attr.value) and not self._from_subclass(parent):
                raise self.fail(MethodOutside, parent, method=parent.attr.value)
            return
        if not (isinstance(parent, cst.Call) and parent.func is ref):
            raise self.fail(InstanceEscapes, ref, what="the class", how="is used as a value")
        self._construction(parent)

    def _from_subclass(self, attr: cst.Attribute) -> bool:
        """`Fn.forward(self, x)` in a method of a class deriving from `Fn`: its plan checks it."""
        call = self.ctx.parent(attr)
        if not (isinstance(call, cst.Call) and call.args and base_method_call(self.ctx, call.args[0].value)):
            return False
        spelled = cst.helpers.get_full_name_for_node(attr.value)
        holder = next((a for a in self.ctx.ancestors(attr) if isinstance(a, cst.ClassDef)), None)
        return holder is not None and any(cst.helpers.get_full_name_for_node(b.value) == spelled for b in holder.bases)

    def _construction(self, ctor: cst.Call) -> None:
        ctx = self.ctx
        parent = ctx.parent(ctor)
        if isinstance(parent, cst.Call) and parent.func is ctor:
            return self._site(parent, ctor, LegacyCall)
        if isinstance(parent, cst.Attribute) and parent.value is ctor:
            grand = ctx.parent(parent)
            if parent.attr.value == "apply" and isinstance(grand, cst.Call) and grand.func is parent:
                return self._site(grand, ctor, InstanceApply)
            self._member_outside(parent)
        if not self.fc.legacy:
            return  # a modern instance kept somewhere still works
        if m.matches(parent, m.Assign(targets=[m.AssignTarget(target=m.Name())])):
            return self._instance(ctor, parent)
        if m.matches(parent, m.Assign(targets=[m.AssignTarget(target=m.Attribute(value=m.Name()))])):
            return self._held(ctor, parent)
        raise self.fail(InstanceEscapes, ctor, what="an instance", how="is passed, returned or stored")

    def _held(self, ctor: cst.Call, assign: cst.Assign) -> None:
        """`self.fn = Fn(args)` in a method, `self.fn(x)` in the methods of the same class and
        nowhere else in the module: an unsafe fix keeps the arguments in `self.fn`."""
        ctx = self.ctx
        target = assign.targets[0].target
        attr, holder = target.attr.value, self._holder(target)
        if holder is None:
            raise self.fail(InstanceEscapes, ctor, what="an instance", how=f"is stored on `{ctx.code(target)}`")
        calls = []
        for name in ctx.survey.names[attr]:
            node = ctx.parent(name)
            if not (isinstance(node, cst.Attribute) and node.attr is name) or node is target:
                continue
            call = ctx.parent(node)
            if not (self._holder(node) is holder and isinstance(call, cst.Call) and call.func is node):
                raise self.fail(
                    InstanceEscapes, node, what="an instance", how=f"held in `self.{attr}` is used other than called"
                )
            calls.append(call)
        if not calls:
            raise self.fail(InstanceEscapes, assign, what="an instance", how=f"held in `self.{attr}` is never called")
        if self.fc.draws_random_at_init():
            raise self.fail(
                Unsupported, assign, reason=f"its constructor draws random numbers once for every call of `self.{attr}`"
            )
        head = cst.helpers.get_full_name_for_node(ctor.func).split(".")[0]
        if any(self._shadowed(head, node) for node in [assign, *calls]):
            raise self.fail(Unsupported, assign, reason=f"`{head}` is a local name where `self.{attr}` is called")
        apply = f"{self.fc.name}.apply(inputs..., *self.{attr})"
        kw = {"cls": self.fc.name, "attr": attr, "holder": holder.name.value}
        if self.fc.legacy and self.fc.plan is None and not waits_for_unsafe(self.fc.blockers):
            todo = f"rewrite its calls as `{apply}` by hand, once the class can be migrated"
            finding = Finding.of(HeldInstance, ctx.pos(assign), fixable=False, applicability="manual", todo=todo, **kw)
            self.site_findings.append((finding, None))
            return
        if not self.unsafe:
            todo = f"--unsafe-fixes keeps the constructor arguments there and calls `{apply}`"
            raise _Blocked(Finding.of(HeldInstance, ctx.pos(assign), fixable=False, todo=todo, **kw))
        extras = self._map_ctor(ctor, self.signature)
        plan = HeldPlan(
            node=assign,
            ctor_call=ctor,
            extras=extras,
            calls=[(call, self._fill_inputs(call, self.signature) if extras else []) for call in calls],
            delete=None if extras else assign,
        )
        todo = f"keep the constructor arguments there and call `{apply}`"
        self.site_findings.append((Finding.of(HeldInstance, ctx.pos(assign), fixable=True, todo=todo, **kw), plan))

    def _holder(self, attr: cst.Attribute) -> cst.ClassDef | None:
        """The class whose plain method has `attr.value` as its (never rebound) first parameter."""
        ctx = self.ctx
        fn = next((a for a in ctx.ancestors(attr) if isinstance(a, (cst.FunctionDef, cst.Lambda, cst.ClassDef))), None)
        cls = ctx.parent(ctx.parent(fn))
        if not (isinstance(fn, cst.FunctionDef) and isinstance(cls, cst.ClassDef)) or is_static(fn):
            return None
        params = [*fn.params.posonly_params, *fn.params.params]
        if not params or not m.matches(attr.value, m.Name(params[0].name.value)):
            return None
        return cls if len(ctx.bindings(attr, params[0].name.value)) == 1 else None

    def _shadowed(self, name: str, node: cst.CSTNode) -> bool:
        """Whether `name` is bound by a function around `node` (so it does not mean the class)."""
        scope = self.ctx.scope_of(node)
        return scope is not None and any(
            s.kind != "class" and s.bound(name) for s in scope.enclosing() if s.parent is not None
        )

    def _member_outside(self, attr: cst.Attribute) -> None:
        """An instance's method or attribute used outside the class: always a blocker."""
        if self.fc.is_method(attr.attr.value):
            raise self.fail(MethodOutside, attr, method=attr.attr.value)
        raise self.fail(
            InstanceEscapes,
            attr,
            what="an instance",
            how=f"has its attribute `{attr.attr.value}` used outside the class",
        )

    def _instance(self, ctor: cst.Call, assign: cst.Assign) -> None:
        """`f = Fn(args)`: its one call takes the arguments and `f` goes, unless `f` is a
        module attribute that other files import, which must stay (see _module_instance)."""
        module_level, name = self._at_module_level(assign), assign.targets[0].target.value
        if module_level and self.exported is not None and self.exported(name):
            return self._module_instance(ctor, assign)
        try:
            self._single_use(ctor, assign)
        except _Blocked:
            if not module_level:
                raise
            self._module_instance(ctor, assign)
        else:
            if module_level:
                self.inlined.append(name)

    def _at_module_level(self, assign: cst.Assign) -> bool:
        line = self.ctx.parent(assign)
        return isinstance(self.ctx.parent(line), cst.Module) and len(line.body) == 1

    def _module_instance(self, ctor: cst.Call, assign: cst.Assign) -> None:
        """`fn = Fn(constants)` at module level, then called anywhere (other modules may import
        it): an unsafe fix makes `fn` a function of forward's inputs that calls `Fn.apply`."""
        ctx, name = self.ctx, assign.targets[0].target.value
        for use in self._sole_binding(assign).references:
            parent = ctx.parent(use)
            if isinstance(parent, cst.Attribute) and parent.value is use:
                self._member_outside(parent)
        sig, kw = self.signature, {"cls": self.fc.name, "name": name}
        if not all(_is_constant(a.value) for a in ctor.args):
            raise self.fail(Unsupported, assign, reason=f"`{name}` is built from values that are not constants")
        if self.fc.draws_random_at_init():
            raise self.fail(Unsupported, assign, reason=f"its constructor draws random numbers once for `{name}`")
        if self.fc.legacy and self.fc.plan is None and not waits_for_unsafe(self.fc.blockers):
            finding = Finding.of(ModuleInstance, ctx.pos(assign), fixable=False, applicability="manual", **kw)
            self.site_findings.append((finding, None))
            return
        if sig.star_inputs or any(p.default is not None and not _is_constant(p.default) for p in sig.inputs):
            raise self.fail(Unsupported, assign, reason="forward's inputs cannot be copied into a function")
        if not self.unsafe:
            raise _Blocked(Finding.of(ModuleInstance, ctx.pos(assign), fixable=False, **kw))
        line = ctx.parent(assign)
        plan = ModuleInstancePlan(node=line, ctor_call=ctor, extras=self._map_ctor(ctor, sig), inputs=sig.inputs)
        self.site_findings.append((Finding.of(ModuleInstance, ctx.pos(assign), fixable=True, **kw), plan))

    def _sole_binding(self, assign: cst.Assign) -> Binding:
        """The binding `name = Fn(...)` makes, when no other statement binds `name`."""
        name = assign.targets[0].target.value
        bindings = self.ctx.bindings(assign, name)
        if len(bindings) != 1:
            raise self.fail(InstanceEscapes, assign, what="an instance", how=f"is kept in `{name}`, which is rebound")
        return bindings[0]

    def _single_use(self, ctor: cst.Call, assign: cst.Assign) -> None:
        """`f = Fn(args)` followed by exactly one `f(x)` in the same scope, outside any loop."""
        ctx = self.ctx
        target = assign.targets[0].target
        uses = list(self._sole_binding(assign).references)
        if not uses:
            raise self.fail(InstanceEscapes, assign, what="an instance", how="is created but never called")
        calls = [u for u in uses if isinstance(p := ctx.parent(u), cst.Call) and p.func is u]
        for use in uses:
            if use not in calls:
                parent = ctx.parent(use)
                if isinstance(parent, cst.Attribute) and parent.value is use:
                    self._member_outside(parent)
                raise self.fail(InstanceEscapes, use, what="an instance", how=f"is passed on as `{target.value}`")
        if len(calls) > 1:
            raise self.fail(InstanceReused, calls[1])
        use = calls[0]
        if ctx.scope_of(use) is not ctx.scope_of(assign):
            raise self.fail(InstanceEscapes, use, what="an instance", how="is called from another function")
        statement = ctx.parent(assign)
        for ancestor in ctx.ancestors(use):
            if ancestor is statement or ancestor in ctx.ancestors(statement):
                break
            if isinstance(ancestor, _LOOPS):
                raise self.fail(InstanceReused, use)
        if ctx.pos(use) < ctx.pos(assign):
            raise self.fail(InstanceEscapes, use, what="an instance", how="is called before it is assigned")
        self._check_stable(ctor, assign, use)
        self._site(ctx.parent(use), ctor, LegacyCall, delete=assign)

    def _check_stable(self, ctor: cst.Call, assign: cst.Assign, use: cst.Name) -> None:
        """Moving the constructor arguments to the call must not change what they evaluate to.
        Constants may move any distance; anything else (names can be mutated, calls can have
        effects) only when the call is the whole of the very next statement and its inputs are
        plain names, so that nothing at all runs in between."""
        if all(_is_constant(a.value) for a in ctor.args):
            return
        call = self.ctx.parent(use)
        statement = self._statement(use)
        whole = (
            m.matches(
                statement,
                m.SimpleStatementLine(body=[m.Return(value=m.Call()) | m.Assign(value=m.Call()) | m.Expr(m.Call())]),
            )
            and statement.body[0].value is call
        )
        if not (whole and self._next_statement(assign) is statement and all(_is_simple(a.value) for a in call.args)):
            raise self.fail(
                Unsupported,
                assign,
                reason="its constructor arguments may change before the instance is called; inline the call by hand",
            )

    def _statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The statement (a line or a compound statement) directly inside a block that holds `node`."""
        while node is not None and not isinstance(self.ctx.parent(node), (cst.IndentedBlock, cst.Module)):
            node = self.ctx.parent(node)
        return node

    def _next_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        statement = self._statement(node)
        body = list(self.ctx.parent(statement).body) if statement is not None else []
        index = next((i for i, s in enumerate(body) if s is statement), len(body))
        return body[index + 1] if index + 1 < len(body) else None

    def _site(self, call: cst.Call, ctor: cst.Call, rule, delete=None) -> None:
        sig = self.signature
        plan = CallSitePlan(node=call, ctor_call=ctor, delete=delete)
        finding = Finding.of(rule, self.ctx.pos(call), cls=self.fc.name)
        self.site_findings.append((finding, None))
        if self.fc.legacy and self.fc.plan is None:
            return  # the class stays legacy, so its sites stay too
        self._check_order(call, ctor)
        if not self.fc.legacy and ctor.args:
            raise self.fail(Unsupported, ctor, reason="a modern Function is constructed with arguments")
        plan.extras = self._map_ctor(ctor, sig)
        if plan.extras:
            plan.input_fill = self._fill_inputs(call, sig)
        self.site_findings[-1] = (finding, plan)

    def _check_order(self, call: cst.Call, ctor: cst.Call) -> None:
        """`Fn(a)(x)` evaluated `a` and ran `__init__` before `x`; `Fn.apply(x, a)` does it the
        other way round. That matters only when both sides do real work."""
        if not any(_works(a.value) for a in call.args):
            return
        if any(_works(a.value) for a in ctor.args) or self.fc.draws_random_at_init():
            raise self.fail(
                Unsupported,
                call,
                reason="its inputs would now be computed after the constructor "
                "arguments and the constructor's random draws; inline the call by hand",
            )

    def _map_ctor(self, ctor: cst.Call, sig: ApplySignature) -> list[int | cst.BaseExpression]:
        given: dict[int, int] = {}  # parameter index -> ctor argument index
        names = [p.name for p in sig.ctor]
        for i, arg in enumerate(ctor.args):
            if arg.star:
                raise self.fail(Unsupported, arg, reason="the constructor call unpacks *args/**kwargs")
            if arg.keyword is None:
                index = i
            elif arg.keyword.value in names:
                index = names.index(arg.keyword.value)
            else:
                raise self.fail(Unsupported, arg, reason=f"the constructor has no parameter `{arg.keyword.value}`")
            if index >= len(names) or index in given:
                raise self.fail(Unsupported, arg, reason="the constructor arguments do not match its parameters")
            given[index] = i
        last = max(given, default=-1)
        values: list[int | cst.BaseExpression] = []
        for index, param in enumerate(sig.ctor[: last + 1]):
            if index in given:
                values.append(given[index])
            else:
                values.append(self._default(param, ctor))
        for param in sig.ctor[last + 1 :]:
            if param.default is None:
                raise self.fail(Unsupported, ctor, reason=f"the constructor argument `{param.name}` is missing")
        return values

    def _fill_inputs(self, call: cst.Call, sig: ApplySignature) -> list[cst.BaseExpression]:
        inputs = call.args
        if any(a.keyword is not None or a.star == "**" for a in inputs):
            raise self.fail(Unsupported, call, reason="the call passes keyword arguments to forward")
        if any(a.star == "*" for a in inputs):
            if any(p.default is not None for p in sig.inputs):
                raise self.fail(Unsupported, call, reason="unpacked inputs meet defaulted forward parameters")
            return []
        if sig.star_inputs:
            raise self.fail(Unsupported, call, reason="forward takes *args")
        if len(inputs) > len(sig.inputs):
            raise self.fail(Unsupported, call, reason="more inputs than forward has parameters")
        return [self._default(p, call) for p in sig.inputs[len(inputs) :]]

    def _default(self, param: Param, node: cst.CSTNode) -> cst.BaseExpression:
        if param.default is None:
            raise self.fail(Unsupported, node, reason=f"the argument `{param.name}` is missing")
        if not m.matches(param.default, _LITERAL | m.UnaryOperation(expression=_LITERAL)):
            raise self.fail(Unsupported, node, reason=f"the default of `{param.name}` is not a literal to copy")
        return param.default


def waits_for_unsafe(blockers: list[Finding]) -> bool:
    """Held back only by unsafe fixes that this run does not make."""
    return bool(blockers) and all(b.applicability == "unsafe" for b in blockers)


_PURE = frozenset({"int", "float", "bool", "str", "tuple", "list", "len", "min", "max", "abs", "round"})


def _works(expr: cst.BaseExpression) -> bool:
    """Calls something other than a pure builtin (so evaluating it may have effects)."""
    return any(not m.matches(c.func, m.Name()) or c.func.value not in _PURE for c in find(expr, m.Call()))


def _is_constant(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.UnaryOperation):
        return _is_constant(expr.expression)
    if isinstance(expr, cst.Tuple):
        return all(_is_constant(e.value) for e in expr.elements)
    return m.matches(expr, _LITERAL)


def _is_simple(expr: cst.BaseExpression) -> bool:
    if m.matches(expr, _LITERAL | m.Name()):
        return True
    if isinstance(expr, cst.Attribute):
        return _is_simple(expr.value)
    if isinstance(expr, cst.UnaryOperation):
        return _is_simple(expr.expression)
    if isinstance(expr, cst.Tuple):
        return all(_is_simple(e.value) for e in expr.elements)
    return False

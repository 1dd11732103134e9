"""Plan the removal of `Variable(...)` wrappers and of the `Variable` import."""

from __future__ import annotations

import libcst as cst

from autograd_migrate import patterns as m
from autograd_migrate.analyse.context import VARIABLE, ModuleContext
from autograd_migrate.analyse.model import VariableMode, VariablePlan
from autograd_migrate.precedence import required
from autograd_migrate.rules import Finding, VariableImport, VariableType, VariableValue, VariableWrapper
from autograd_migrate.syntax import find

# torch factories that take `requires_grad=` themselves
FACTORIES = frozenset(
    f"torch.{n}"
    for n in (
        "randn",
        "rand",
        "zeros",
        "ones",
        "empty",
        "full",
        "tensor",
        "randn_like",
        "rand_like",
        "zeros_like",
        "ones_like",
        "empty_like",
        "full_like",
        "arange",
        "linspace",
        "logspace",
        "eye",
    )
)
# calls that always return a new tensor, so `.requires_grad_()` needs no `.detach()` first
FRESH = frozenset(
    f"torch.{n}"
    for n in (
        "from_numpy",
        "Tensor",
        "FloatTensor",
        "DoubleTensor",
        "LongTensor",
        "IntTensor",
        "ByteTensor",
        "BoolTensor",
        "HalfTensor",
        "randint",
        "randperm",
    )
)


def _variable_refs(ctx: ModuleContext) -> list[cst.CSTNode]:
    aliases = {"Variable"} | {name for name, origin in ctx.imports.origin.items() if origin in VARIABLE}
    candidates = [n for alias in aliases for n in ctx.survey.names.get(alias, ())]
    candidates += ctx.survey.attributes.get("Variable", [])
    found = []
    for node in candidates:
        if isinstance(node, cst.Name) and _is_declaration(ctx, node):
            continue
        if isinstance(node, cst.Name) and ctx.is_label(node):
            continue
        parent = ctx.parent(node)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            continue  # `Variable._execution_engine` is still how torch exposes the engine
        if ctx.is_variable(node):
            found.append(node)
    return found


def _is_declaration(ctx: ModuleContext, node: cst.Name) -> bool:
    return any(isinstance(a, (cst.Import, cst.ImportFrom)) for a in ctx.ancestors(node))


def analyse_variables(ctx: ModuleContext, frozen: list[cst.CSTNode]):
    """Plans and findings; `frozen` are subtrees (blocked classes) that must stay untouched."""
    plans: list[VariablePlan] = []
    types: list[cst.CSTNode] = []  # `isinstance(x, Variable)` -> `torch.Tensor`
    findings: list[Finding] = []
    handled: set[cst.CSTNode] = set()
    torch_bound = ctx.imports.origin.get("torch") == "torch"
    for ref in _variable_refs(ctx):
        parent = ctx.parent(ref)
        in_frozen = any(f in ctx.ancestors(ref) for f in frozen)
        if _isinstance_type(ctx, ref) and torch_bound:
            findings.append(Finding.of(VariableType, ctx.pos(ref), fixable=not in_frozen))
            if not in_frozen:
                types.append(ref)
                handled.add(ref)
            continue
        if not (isinstance(parent, cst.Call) and parent.func is ref):
            what = "a type in isinstance()" if _in_isinstance(ctx, parent) else "a value"
            findings.append(Finding.of(VariableValue, ctx.pos(ref), what=what))
            continue
        plan, detail = _plan_call(ctx, parent)
        if plan is None:
            findings.append(Finding.of(VariableValue, ctx.pos(ref), what=detail))
            continue
        findings.append(Finding.of(VariableWrapper, ctx.pos(parent), fixable=not in_frozen, detail=detail))
        if not in_frozen:
            plans.append(plan)
            handled.add(ref)
    removals, import_findings = _import_removals(ctx, handled)
    return plans, types, findings + import_findings, removals


def _isinstance_type(ctx: ModuleContext, ref: cst.CSTNode) -> bool:
    """`isinstance(x, Variable)` or `isinstance(x, (Variable, ...))`: since torch 0.4 exactly
    `isinstance(x, torch.Tensor)` (Variable's metaclass says so; issubclass has no such rule)."""
    node = ref
    if isinstance(ctx.parent(node), cst.Element) and isinstance(ctx.parent(ctx.parent(node)), cst.Tuple):
        node = ctx.parent(ctx.parent(node))
    arg = ctx.parent(node)
    call = ctx.parent(arg)
    return (
        isinstance(arg, cst.Arg)
        and m.matches(call, m.Call(func=m.Name("isinstance")))
        and len(call.args) == 2
        and call.args[1] is arg
    )


def _in_isinstance(ctx: ModuleContext, node: cst.CSTNode | None) -> bool:
    return any(
        m.matches(a, m.Call(func=m.Name("isinstance") | m.Name("issubclass")))
        for a in [node, *ctx.ancestors(node)]
        if a is not None
    )


def _plan_call(ctx: ModuleContext, call: cst.Call) -> tuple[VariablePlan | None, str]:
    slots: dict[str, int] = {}
    for i, arg in enumerate(call.args):
        if arg.star:
            return None, "a call that unpacks arguments"
        name = arg.keyword.value if arg.keyword else ("data", "requires_grad", "volatile")[min(i, 2)]
        if name not in ("data", "requires_grad", "volatile") or name in slots or (arg.keyword is None and i > 2):
            return None, "a call with unexpected arguments"
        slots[name] = i
    if "data" not in slots:
        return None, "a call without data"
    context = required(ctx.parent(call), call)
    rg = call.args[slots["requires_grad"]].value if "requires_grad" in slots else None
    volatile = "volatile" in slots and m.matches(call.args[slots["volatile"]].value, m.Name("True"))
    in_backward = any(isinstance(a, cst.FunctionDef) and a.name.value == "backward" for a in ctx.ancestors(call))
    data = call.args[slots["data"]].value
    data_names = ctx.qualified_names(data.func) if isinstance(data, cst.Call) else set()
    if rg is None or m.matches(rg, m.Name("False")):
        plain = _history_free(ctx, data)
        detail = "use the tensor itself" if plain else "use `t.detach()` (the shim detached it)"
        if volatile and not in_backward:
            detail += "; `volatile=True` is ignored now: run this computation under `torch.no_grad()`"
        mode = VariableMode.PLAIN if plain else VariableMode.DETACHED
        return VariablePlan(call, slots["data"], mode, context=context), detail
    if m.matches(rg, m.Name("True")):
        if data_names & FACTORIES and not any(a.keyword and a.keyword.value == "requires_grad" for a in data.args):
            return VariablePlan(
                call, slots["data"], VariableMode.FACTORY_KW
            ), "pass `requires_grad=True` to the factory"
        if data_names & FRESH:
            return VariablePlan(
                call, slots["data"], VariableMode.REQUIRES_GRAD
            ), "call `.requires_grad_()` on the new tensor"
        return VariablePlan(call, slots["data"], VariableMode.DETACH), "use `t.detach().requires_grad_()`"
    return (
        VariablePlan(call, slots["data"], VariableMode.DETACH, flag=slots["requires_grad"]),
        "use `t.detach().requires_grad_(flag)`",
    )


_SHAPE_METHODS = frozenset(
    {
        "double",
        "float",
        "half",
        "long",
        "int",
        "short",
        "byte",
        "bool",
        "cuda",
        "cpu",
        "to",
        "type",
        "view",
        "reshape",
        "contiguous",
        "clone",
        "unsqueeze",
        "squeeze",
        "t",
        "permute",
        "transpose",
        "expand",
        "detach",
    }
)


def _history_free(ctx: ModuleContext, data: cst.BaseExpression) -> bool:
    """Known not to carry autograd history, so `Variable(t)`'s implicit detach changes nothing:
    a new tensor from a factory, `.data`, `.detach()`, shape and type methods and arithmetic on those."""
    if m.matches(data, m.Attribute(attr=m.Name("data")) | m.Integer() | m.Float()):
        return True
    if isinstance(data, cst.BinaryOperation):
        return _history_free(ctx, data.left) and _history_free(ctx, data.right)
    if isinstance(data, cst.UnaryOperation):
        return _history_free(ctx, data.expression)
    if not isinstance(data, cst.Call):
        return False
    if isinstance(data.func, cst.Attribute) and data.func.attr.value in _SHAPE_METHODS:
        return (
            data.func.attr.value == "detach"
            or _history_free(ctx, data.func.value)
            or bool(ctx.qualified_names(data.func) & (FACTORIES | FRESH))
        )
    return bool(ctx.qualified_names(data.func) & (FACTORIES | FRESH))


def _exported(ctx: ModuleContext) -> set[str]:
    """Names listed in `__all__`: a re-exported import stays even when this module does not use it."""
    names = set()
    for name in ctx.survey.names.get("__all__", ()):
        statement = ctx.parent(ctx.parent(name))
        if isinstance(statement, (cst.Assign, cst.AugAssign, cst.AnnAssign)) and statement.value is not None:
            names |= {s.evaluated_value for s in find(statement.value, m.SimpleString())}
    return names


def _import_removals(ctx: ModuleContext, handled: set[cst.CSTNode]):
    """An import of Variable goes when every other mention of its name is a rewritten call
    (any rebinding or shadowing shows up as another mention, and the import stays)."""
    removals: dict[cst.ImportFrom, set[cst.ImportAlias]] = {}
    findings = []
    for imp in ctx.survey.imports:
        if not isinstance(imp, cst.ImportFrom) or isinstance(imp.names, cst.ImportStar):
            continue
        for alias in imp.names:
            local = alias.evaluated_alias or alias.evaluated_name
            if ctx.imports.origin.get(local) not in VARIABLE:
                continue
            mentions = [
                n for n in ctx.survey.names.get(local, ()) if not _is_declaration(ctx, n) and not ctx.is_label(n)
            ]
            if all(n in handled for n in mentions) and local not in _exported(ctx):
                removals.setdefault(imp, set()).add(alias)
                findings.append(Finding.of(VariableImport, ctx.pos(alias)))
    return removals, findings

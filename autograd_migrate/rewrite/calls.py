"""`Fn(args)(x)`, `Fn(args).apply(x)` and `f = Fn(args); f(x)` -> `Fn.apply(x, args)`;
`self.fn = Fn(args)` ... `self.fn(x)` -> `self.fn = (args,)` ... `Fn.apply(x, *self.fn)`."""

from __future__ import annotations

import libcst as cst

from autograd_migrate.analyse.model import CallSitePlan, HeldPlan, ModuleInstancePlan
from autograd_migrate.rewrite.edits import Edits, join_args


def add_site_edits(edits: Edits, plan: CallSitePlan | HeldPlan) -> None:
    edits.keep.add(plan.ctor_call)
    if plan.delete is not None:
        edits.delete.add(plan.delete)
    if isinstance(plan, CallSitePlan):
        edits.add(plan.node, lambda call: _rewrite_site(call, plan, edits.done[plan.ctor_call]))
        return
    if isinstance(plan, ModuleInstancePlan):
        edits.add(plan.node, lambda line: _module_function(line, plan, edits.done[plan.ctor_call]))
        return
    if plan.delete is None:
        edits.add(plan.node, lambda assign: assign.with_changes(value=_arguments(plan, edits.done[plan.ctor_call])))
    for call, fill in plan.calls:
        edits.add(call, lambda c, fill=fill: _rewrite_held_call(c, plan, fill, edits.done[plan.ctor_call]))


def _own_parens(value: cst.BaseExpression) -> cst.BaseExpression:
    """A bare generator may be a call's only argument; among others it needs parentheses."""
    if isinstance(value, cst.GeneratorExp) and not value.lpar:
        return value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return value


def _values(ctor: cst.Call, extras: list) -> list[cst.BaseExpression]:
    """A constructor argument by index, or a copied default."""
    return [_own_parens(ctor.args[x].value) if isinstance(x, int) else x.deep_clone() for x in extras]


def _apply(ctor: cst.Call) -> cst.Attribute:
    return cst.Attribute(value=ctor.func.deep_clone(), attr=cst.Name("apply"))


def _rewrite_site(call: cst.Call, plan: CallSitePlan, ctor: cst.Call) -> cst.Call:
    extras = [cst.Arg(v) for v in _values(ctor, [*plan.input_fill, *plan.extras])]
    return call.with_changes(func=_apply(ctor), args=join_args(call.args, extras))


def _arguments(plan: HeldPlan, ctor: cst.Call) -> cst.Tuple:
    values = _values(ctor, plan.extras)
    elements = [cst.Element(v, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for v in values]
    elements[-1] = cst.Element(values[-1], comma=cst.Comma() if len(values) == 1 else cst.MaybeSentinel.DEFAULT)
    return cst.Tuple(elements)


def _rewrite_held_call(call: cst.Call, plan: HeldPlan, fill: list, ctor: cst.Call) -> cst.Call:
    held = [cst.Arg(call.func, star="*")] if plan.extras else []  # `self.fn`, spelled as at the call
    extras = [*(cst.Arg(v.deep_clone()) for v in fill), *held]
    return call.with_changes(func=_apply(ctor), args=join_args(call.args, extras))


def _module_function(line: cst.SimpleStatementLine, plan: ModuleInstancePlan, ctor: cst.Call) -> cst.FunctionDef:
    """`fn = Fn(k)` -> `def fn(x): return Fn.apply(x, k)`, with the line's comments."""
    code = cst.Module([]).code_for_node
    name = line.body[0].targets[0].target.value
    params = [p.name + (f"={code(p.default)}" if p.default is not None else "") for p in plan.inputs]
    args = [*(p.name for p in plan.inputs), *(code(v) for v in _values(ctor, plan.extras))]
    fn = cst.parse_statement(
        f"def {name}({', '.join(params)}):\n    return {code(ctor.func)}.apply({', '.join(args)})\n"
    )
    return fn.with_changes(leading_lines=line.leading_lines, body=fn.body.with_changes(header=line.trailing_whitespace))

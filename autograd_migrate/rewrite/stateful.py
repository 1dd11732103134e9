"""Split a legacy class that keeps state across calls (see analyse.stateful)."""

from __future__ import annotations

import libcst as cst

from autograd_migrate.analyse.model import StatefulPlan
from autograd_migrate.analyse.stateful import NESTED
from autograd_migrate.rewrite.classes import append_params, extend_return, run_first
from autograd_migrate.rewrite.edits import Edits


def add_stateful_edits(edits: Edits, plan: StatefulPlan) -> None:
    for fn in (plan.forward, plan.backward):
        for ref, is_ctx in plan.refs[fn].items():
            edits.add(ref, lambda n, new=plan.ctx_name if is_ctx else plan.state: n.with_changes(value=new))
    n_inputs = len(plan.forward.params.params) - 1
    for ret, spread in plan.returns.items():
        edits.add(ret, lambda r, s=spread: extend_return(r, n_inputs, 1, s))
    edits.add(plan.node, lambda c: _split(c, plan))


def _split(updated: cst.ClassDef, plan: StatefulPlan) -> cst.ClassDef:
    """`class Fn(Function)` -> `class Fn:` keeping everything but forward and backward, which
    go to the nested `Fn.Function`; `__call__` applies it, where forward was."""
    pairs = list(zip(plan.node.body.body, updated.body.body, strict=True))
    new = {orig: now for orig, now in pairs}
    forward, backward = new[plan.forward], new[plan.backward]
    base = updated.bases[0].value
    nested = cst.ClassDef(
        name=cst.Name(NESTED),
        bases=[cst.Arg(base)],
        body=cst.IndentedBlock([_static_forward(forward, plan), _static_backward(backward, plan)]),
        leading_lines=[cst.EmptyLine(indent=False)],
    )
    body: list[cst.BaseStatement] = []
    for orig, now in pairs:
        if orig is plan.forward:
            body += [_call(forward, plan), nested]
        elif orig is not plan.backward:
            body.append(now)
    return updated.with_changes(
        bases=[],
        lpar=cst.MaybeSentinel.DEFAULT,
        rpar=cst.MaybeSentinel.DEFAULT,
        whitespace_after_name=cst.SimpleWhitespace(""),
        body=updated.body.with_changes(body=body),
    )


def _call(forward: cst.FunctionDef, plan: StatefulPlan) -> cst.FunctionDef:
    """`def __call__(self, x, k=2)` with forward's parameters: `Fn.Function.apply(x, k, self)`."""
    first, *inputs = forward.params.params
    args = ", ".join([*(p.name.value for p in inputs), first.name.value])
    body = cst.parse_statement(f"return {plan.node.name.value}.{NESTED}.apply({args})\n")
    return cst.FunctionDef(
        name=cst.Name("__call__"),
        params=cst.Parameters([first.with_changes(name=cst.Name("self"), annotation=None), *inputs]),
        body=cst.IndentedBlock([body]),
        leading_lines=forward.leading_lines,
    )


def _static_forward(forward: cst.FunctionDef, plan: StatefulPlan) -> cst.FunctionDef:
    """`forward(ctx, x, state)`, keeping the state on ctx for backward."""
    params = append_params(_with_ctx(forward.params, plan), [cst.Param(cst.Name(plan.state))])
    keep = cst.parse_statement(f"{plan.ctx_name}.{plan.state} = {plan.state}\n")
    return _static(forward.with_changes(params=params, leading_lines=[]), keep)


def _static_backward(backward: cst.FunctionDef, plan: StatefulPlan) -> cst.FunctionDef:
    fetch = cst.parse_statement(f"{plan.state} = {plan.ctx_name}.{plan.state}\n")
    return _static(backward.with_changes(params=_with_ctx(backward.params, plan)), fetch)


def _with_ctx(params: cst.Parameters, plan: StatefulPlan) -> cst.Parameters:
    first, *rest = params.params
    return params.with_changes(params=[first.with_changes(name=cst.Name(plan.ctx_name)), *rest])


def _static(fn: cst.FunctionDef, first: cst.BaseStatement) -> cst.FunctionDef:
    return run_first(fn, [first]).with_changes(decorators=[cst.Decorator(cst.Name("staticmethod"))])

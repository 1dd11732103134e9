"""Turn a legacy class into a modern one, following its ClassPlan."""

from __future__ import annotations

import libcst as cst

from autograd_migrate.analyse.model import ClassPlan, MethodPlan
from autograd_migrate.precedence import STARRED, parenthesize
from autograd_migrate.rewrite.edits import Edits, tight_equal
from autograd_migrate.syntax import is_docstring, is_filler, statements

NONE = cst.Name("None")


def add_class_edits(edits: Edits, plan: ClassPlan) -> None:
    for name, new in plan.renames.items():
        edits.add(name, lambda n, new=new: n.with_changes(value=new))
    for attr in plan.class_refs:
        edits.add(attr, lambda a: a.with_changes(value=cst.Name(plan.name)))
    for attr, new in plan.attr_renames.items():
        edits.add(attr, lambda a, new=new: a.with_changes(attr=cst.Name(new)))
    for call, pass_ctx in plan.helper_calls.items():
        edits.add(call, lambda c, pass_ctx=pass_ctx: _helper_call(c, plan.name, pass_ctx))
    for ret, (n_inputs, spread) in plan.returns.items():
        edits.add(ret, lambda r, n=n_inputs, s=spread: extend_return(r, n, len(plan.signature.ctor), s))
    edits.delete |= plan.deletions
    edits.add(plan.node, lambda c: _rewrite_class(c, plan))


def _helper_call(call: cst.Call, cls: str, pass_ctx: bool) -> cst.Call:
    """`self.h(a)` (already `ctx.h(a)` here) -> `Cls.h(ctx, a)` or `Cls.h(a)`."""
    ctx_name = call.func.value
    args = [cst.Arg(ctx_name), *call.args] if pass_ctx else list(call.args)
    return call.with_changes(func=call.func.with_changes(value=cst.Name(cls)), args=args)


def _nones(count: int) -> list[cst.Element]:
    return [cst.Element(NONE) for _ in range(max(count, 0))]


def extend_return(ret: cst.Return, n_inputs: int, n_extra: int, spread: bool) -> cst.Return:
    """One more `None` gradient per former constructor parameter, after a gradient (or `None`)
    for every input of forward: inputs the legacy call left to their defaults got none."""
    value = ret.value
    if value is None or (isinstance(value, cst.Name) and value.value == "None"):
        new = cst.Tuple(_nones(max(n_inputs, 1) + n_extra), lpar=[], rpar=[])
        return ret.with_changes(value=new, whitespace_after_return=cst.SimpleWhitespace(" "))
    elif isinstance(value, (cst.Tuple, cst.List)) and value.elements:
        elements = list(value.elements)
        counted = not any(isinstance(e, cst.StarredElement) for e in elements)
        elements[-1] = elements[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        pad = n_inputs - len(elements) if counted else 0
        new = value.with_changes(elements=[*elements, *_nones(pad), *_nones(n_extra)])
    elif spread:
        new = cst.Tuple([cst.StarredElement(parenthesize(value, STARRED)), *_nones(n_extra)])
    else:
        new = cst.Tuple([cst.Element(value), *_nones(n_inputs - 1), *_nones(n_extra)], lpar=[], rpar=[])
    return ret.with_changes(value=new)


def _rewrite_class(updated: cst.ClassDef, plan: ClassPlan) -> cst.ClassDef:
    originals = list(plan.node.body.body)
    current = list(updated.body.body)
    assert len(originals) == len(current), "class body changed shape during the rewrite"
    pairs = list(zip(originals, current, strict=True))
    init = next((u for o, u in pairs if o is plan.init), None)
    body: list[cst.BaseStatement] = []
    carry: list[cst.EmptyLine] | None = None
    for orig, new in pairs:
        if orig is plan.init:
            carry = [line for line in new.leading_lines if line.comment is None]
            continue
        if orig in plan.methods:
            new = _make_static(new, plan.methods[orig])
            if orig is plan.forward and init is not None:
                new = _absorb_init(new, init)
        if carry is not None:
            new = new.with_changes(leading_lines=[*carry, *(line for line in new.leading_lines if line.comment)])
            carry = None
        body.append(new)
    return updated.with_changes(body=updated.body.with_changes(body=body or [cst.SimpleStatementLine([cst.Pass()])]))


def _make_static(fn: cst.FunctionDef, plan: MethodPlan) -> cst.FunctionDef:
    decorators = [cst.Decorator(cst.Name("staticmethod")), *fn.decorators]
    params = fn.params
    field = "posonly_params" if params.posonly_params else "params"
    rest = list(getattr(params, field))
    if plan.ctx is None:
        rest = rest[1:]
    else:
        rest[0] = rest[0].with_changes(name=cst.Name(plan.ctx))
    return fn.with_changes(decorators=decorators, params=params.with_changes(**{field: rest}))


def _absorb_init(forward: cst.FunctionDef, init: cst.FunctionDef) -> cst.FunctionDef:
    """Append the constructor's parameters to forward and run its body first."""
    ps = init.params
    moved = [*ps.posonly_params, *ps.params][1:] + list(ps.kwonly_params)
    forward = forward.with_changes(params=append_params(forward.params, moved))
    return run_first(forward, [s for s in statements(init.body) if not is_filler(s)])


def append_params(parameters: cst.Parameters, moved: list[cst.Param]) -> cst.Parameters:
    """`moved` after the positional parameters, `=None` where a default came before."""
    params = list(parameters.params)
    defaulted = any(p.default is not None for p in [*parameters.posonly_params, *params])
    appended = []
    for p in moved:
        if p.default is None and defaulted:
            p = p.with_changes(default=NONE, equal=tight_equal())
        defaulted = defaulted or p.default is not None
        appended.append(p.with_changes(comma=cst.MaybeSentinel.DEFAULT, star=""))
    if appended and params:
        last_comma = params[-1].comma
        params[-1] = params[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        if isinstance(last_comma, cst.Comma) and isinstance(last_comma.whitespace_after, cst.ParenthesizedWhitespace):
            appended[-1] = appended[-1].with_changes(comma=last_comma)
    return parameters.with_changes(params=[*params, *appended])


def run_first(fn: cst.FunctionDef, first: list[cst.BaseStatement]) -> cst.FunctionDef:
    """`fn` running `first` (after its docstring) before its own body."""
    if not first:
        return fn
    block = fn.body
    if isinstance(block, cst.SimpleStatementSuite):
        block = cst.IndentedBlock(body=statements(block))
    lines = list(block.body)
    at = 1 if lines and is_docstring(lines[0]) else 0
    return fn.with_changes(body=block.with_changes(body=[*lines[:at], *first, *lines[at:]]))

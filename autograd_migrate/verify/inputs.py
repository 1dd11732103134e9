"""Which inputs `--verify` tries on a class, found statically: no user code runs, torch is not imported.

Candidates come in this order (duplicates dropped, the first kept); each says where it came from:

1. hints in `pyproject.toml` (`[[tool.autograd-migrate.verify]]`, see `autograd_migrate.config`);
2. hint comments on the class (see `autograd_migrate.verify.hints`);
3. harvested from the module: `gradcheck(F, inputs)` calls, then call sites inside
   `if __name__ == "__main__":` blocks, then the other call sites, each in source order;
4. harvested through a wrapper, a class of the module (an `nn.Module`, typically) one of whose
   methods calls the Function on its own parameters. The wrapper's uses (`w = W(2, 0.5)` then
   `w(x, y)` or `w.forward(x, y)`, or `W(2, 0.5)(x, y)`) are read like direct ones, `__main__`
   blocks first, and their arguments followed into the method: a constructor argument of the
   Function may be a literal, a parameter of the method, or `self.attr` that `__init__` sets
   once to a literal or to one of its parameters, maybe through `int`/`float`/`bool` (applied
   to the literal the wrapper is given when it can be). One level of wrapping only.

A harvested input must be a torch factory call with literal arguments (`torch.randn(20, 20)`),
maybe reached through a name bound once before the use in the same scope, one `Variable(...)`
and `.double()`/`.float()`/`.requires_grad_()` (`.cuda()`/`.cpu()` and `device=` are dropped);
constructor arguments must be literals. It is re-rendered with the full `torch.` name, so it
evaluates in the worker whatever the module's imports called it. Probing and forward's default
values are the worker's job.
"""

from __future__ import annotations

import ast
import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import libcst as cst

from autograd_migrate import patterns as m
from autograd_migrate.analyse.context import ModuleContext
from autograd_migrate.config import Config
from autograd_migrate.verify.hints import comment_hints
from autograd_migrate.verify.model import Candidate

_FACTORY_NAMES = ("randn", "rand", "randint", "zeros", "ones", "full", "tensor", "arange", "linspace", "eye", "empty")
FACTORIES = frozenset(f"torch.{n}" for n in _FACTORY_NAMES)
_DTYPE_NAMES = ("float16", "float32", "float64", "bfloat16", "half", "float", "double", "complex64", "complex128")
_DTYPE_NAMES += ("cfloat", "cdouble", "uint8", "int8", "int16", "int32", "int64", "short", "int", "long", "bool")
DTYPES = frozenset(f"torch.{n}" for n in _DTYPE_NAMES)
GRADCHECKS = frozenset(
    {
        "torch.autograd.gradcheck",
        "torch.autograd.gradcheck.gradcheck",
        "torch.autograd.gradgradcheck",
        "torch.autograd.gradcheck.gradgradcheck",
    }
)
_KEEP_METHODS = ("double", "float", "requires_grad_")  # harmless: the worker makes float64 leaves anyway
_DROP_METHODS = ("cuda", "cpu")  # the worker runs on the CPU
_NUMBER = m.Integer() | m.Float() | m.Imaginary()
_SCALAR = (
    _NUMBER
    | m.SimpleString()
    | m.Name("True")
    | m.Name("False")
    | m.Name("None")
    | m.UnaryOperation(operator=m.Minus() | m.Plus(), expression=_NUMBER)
)
_MAIN_TEST = m.Comparison(
    comparisons=[m.ComparisonTarget(operator=m.Equal())],
)
_CONVERSIONS = {"int": int, "float": float, "bool": bool}
_CONVERTED = m.Call(
    func=m.Name("int") | m.Name("float") | m.Name("bool"),
    args=[m.Arg(value=m.Name(), keyword=None, star="")],
)


class _Reject(Exception):
    """This use cannot be turned into a candidate; the next one may."""


_Place = tuple[cst.ClassDef, cst.FunctionDef]  # a method and its class


class _From(NamedTuple):
    """Where a wrapper gets a constructor argument of the Function: a literal (`text`), or the
    parameter `text` of its `__init__` ("init") or of the method calling the Function ("call")."""

    where: str  # "literal", "init" or "call"
    text: str
    convert: str | None = None  # "int", "float" or "bool": what `__init__` applied


class _Route(NamedTuple):
    """How `method` of `wrapper` calls the Function: the parameters that become its inputs and
    where its constructor arguments come from."""

    wrapper: cst.ClassDef
    method: cst.FunctionDef
    inputs: list[str]
    args: list[_From]
    kwargs: dict[str, _From]


def candidates(ctx: ModuleContext, cls: cst.ClassDef, config: Config, path: Path) -> list[Candidate]:
    """Every way to call `cls` the user gave or the module shows, best first, without duplicates."""
    found = [
        *config.hints_for(path, cls.name.value),
        *comment_hints(ctx, cls, path),
        *_Harvester(ctx, cls).harvest(),
    ]
    return _dedupe(found)


def _dedupe(found: list[Candidate]) -> list[Candidate]:
    """Keep the first of candidates that evaluate alike (spelling and spacing aside)."""
    seen: set[tuple] = set()
    kept = []
    for c in found:
        key = (
            tuple(map(_norm, c.inputs)),
            tuple(map(_norm, c.args)),
            tuple(sorted((k, _norm(v)) for k, v in c.kwargs.items())),
        )
        if key not in seen:
            seen.add(key)
            kept.append(c)
    return kept


def _norm(source: str) -> str:
    try:
        return ast.dump(ast.parse(source.strip(), mode="eval"))
    except SyntaxError:
        return source


# -- harvesting ------------------------------------------------------------------------------
class _Harvester:
    """Finds the uses of one class in its module and the inputs they pass."""

    def __init__(self, ctx: ModuleContext, cls: cst.ClassDef) -> None:
        self.ctx = ctx
        self.cls = cls
        self.refs = set(ctx.class_references(cls)[0])  # nodes hash by identity
        self.arity = _forward_arity(cls)

    def harvest(self) -> list[Candidate]:
        checks = [self._attempt(lambda c=call: self._gradcheck(c)) for call in self._gradcheck_calls()]
        found = [*checks, *self._placed(self._sites()), *self._placed(self._wrapped_sites())]
        return [c for c in found if c is not None]

    def _placed(self, sites: Iterator[tuple[cst.Call, Callable[[], Candidate], str]]) -> list[Candidate | None]:
        """Candidates from call sites, those in `__main__` blocks first, each group in source order."""
        main, other = [], []
        for call, build, through in sorted(sites, key=lambda site: self.ctx.pos(site[0])):
            line = self.ctx.pos(call)[0]
            if _in_main_block(self.ctx, call):
                main.append(self._attempt(build, f"harvested: __main__ block line {line}{through}"))
            else:
                other.append(self._attempt(build, f"harvested: call on line {line}{through}"))
        return main + other

    @staticmethod
    def _attempt(build: Callable, source: str | None = None) -> Candidate | None:
        try:
            candidate = build()
        except _Reject:
            return None
        if source is not None:
            candidate.source = source
        return candidate

    # -- gradcheck -------------------------------------------------------------------------
    def _gradcheck_calls(self) -> list[cst.Call]:
        """`gradcheck(...)` however it was imported: looked up by name, then qualified."""
        ctx = self.ctx
        spellings = {"gradcheck", "gradgradcheck"} | {k for k, v in ctx.imports.origin.items() if v in GRADCHECKS}
        calls = []
        for spelling in spellings:
            for name in ctx.survey.names.get(spelling, ()):
                callee, parent = name, ctx.parent(name)
                if isinstance(parent, cst.Attribute) and parent.attr is name:
                    callee, parent = parent, ctx.parent(parent)
                if isinstance(parent, cst.Call) and parent.func is callee and ctx.imports.qualify(callee) & GRADCHECKS:
                    calls.append(parent)
        return sorted(calls, key=ctx.pos)

    def _gradcheck(self, call: cst.Call) -> Candidate:
        func, inputs = _argument(call, 0, "func"), _argument(call, 1, "inputs")
        if func is None or inputs is None:
            raise _Reject
        kind, args, kwargs = self._checked_function(func)
        values = self._sequence(inputs)
        split = len(values) if kind != "apply" or self.arity is None else self.arity
        tensors = [self._tensor(v) for v in values[:split]]
        args = [*args, *(self._literal(v) for v in values[split:])]
        return Candidate(f"harvested: gradcheck call on line {self.ctx.pos(call)[0]}", tensors, args, kwargs)

    def _checked_function(self, func: cst.BaseExpression) -> tuple[str, list[str], dict[str, str]]:
        """What gradcheck calls: `Cls.apply` ("apply": ctor arguments may trail the inputs), a
        legacy instance `Cls(args)` or a lambda around a call site (all inputs are tensors)."""
        if isinstance(func, cst.Name) and func not in self.refs:
            return self._checked_function(self._bound_value(func))
        if self._is_apply(func):
            return "apply", [], {}
        ctor = func.value if m.matches(func, m.Attribute(attr=m.Name("apply"))) else func
        if isinstance(ctor, cst.Call) and ctor.func in self.refs:
            return "instance", *self._ctor(ctor)
        if isinstance(func, cst.Lambda):
            return "lambda", *self._lambda(func)
        raise _Reject

    def _lambda(self, func: cst.Lambda) -> tuple[list[str], dict[str, str]]:
        """`lambda x, y: Cls.apply(x, y, 0.5)`, `lambda *xs: Cls(0.5)(*xs)` and the like: the
        body passes the parameters through, in order, and adds only literals."""
        ps = func.params
        if ps.posonly_params or ps.kwonly_params or ps.star_kwarg or any(p.default for p in ps.params):
            raise _Reject
        star = ps.star_arg.name.value if isinstance(ps.star_arg, cst.Param) else None
        expected = [(None, p.name.value) for p in ps.params] + ([("*", star)] if star else [])
        body = func.body
        if not isinstance(body, cst.Call):
            raise _Reject
        given = [(a.star or None, a.value.value if isinstance(a.value, cst.Name) else None) for a in body.args]
        if given[: len(expected)] != expected or any(a.keyword for a in body.args):
            raise _Reject
        extra = body.args[len(expected) :]
        if self._is_apply(body.func):
            return [self._literal(a.value) for a in extra], {}
        ctor = body.func.value if m.matches(body.func, m.Attribute(attr=m.Name("apply"))) else body.func
        if isinstance(ctor, cst.Call) and ctor.func in self.refs and not extra:
            return self._ctor(ctor)
        raise _Reject

    def _sequence(self, expr: cst.BaseExpression) -> list[cst.BaseExpression]:
        """gradcheck's inputs: a tuple or list display, a name bound to one, or one tensor."""
        if isinstance(expr, cst.Name):
            return self._sequence(self._bound_value(expr))
        if isinstance(expr, (cst.Tuple, cst.List)):
            if any(not isinstance(e, cst.Element) for e in expr.elements):
                raise _Reject
            return [e.value for e in expr.elements]
        return [expr]

    # -- call sites ------------------------------------------------------------------------
    def _sites(self) -> Iterator[tuple[cst.Call, Callable[[], Candidate], str]]:
        """`Cls.apply(x, args)`, `Cls(args)(x)`, `Cls(args).apply(x)`, `f = Cls(args); f(x)`."""
        ctx = self.ctx
        for ref in self.refs:
            if self.cls in ctx.ancestors(ref):
                continue
            parent = ctx.parent(ref)
            if self._is_apply(parent) and _called(ctx, parent):
                call = ctx.parent(parent)
                yield call, lambda call=call: self._apply_site(call), ""
            elif isinstance(parent, cst.Call) and parent.func is ref:
                for call in _instance_calls(ctx, parent, "apply", direct=True):
                    yield call, lambda call=call, ctor=parent: self._instance_site(call, ctor), ""

    def _apply_site(self, call: cst.Call) -> Candidate:
        args = self._positional(call)
        split = len(args) if self.arity is None else self.arity
        return Candidate("", [self._tensor(a) for a in args[:split]], [self._literal(a) for a in args[split:]])

    def _instance_site(self, call: cst.Call, ctor: cst.Call) -> Candidate:
        args, kwargs = self._ctor(ctor)
        return Candidate("", [self._tensor(a) for a in self._positional(call)], args, kwargs)

    # -- through a wrapper -----------------------------------------------------------------
    def _wrapped_sites(self) -> Iterator[tuple[cst.Call, Callable[[], Candidate], str]]:
        """Uses of the wrappers: `w = W(args)` then `w(x)` or `w.method(x)`, or `W(args)(x)`
        (called bare when the method is `forward`)."""
        ctx = self.ctx
        for route in self._routes():
            method, through = route.method.name.value, f" (through {route.wrapper.name.value})"
            for ref in ctx.class_references(route.wrapper)[0]:
                ctor = ctx.parent(ref)
                if route.wrapper in ctx.ancestors(ref) or not (isinstance(ctor, cst.Call) and ctor.func is ref):
                    continue
                for call in _instance_calls(ctx, ctor, method, direct=method == "forward"):
                    yield call, functools.partial(self._wrapped, route, ctor, call), through

    def _wrapped(self, route: _Route, ctor: cst.Call, call: cst.Call) -> Candidate:
        """Follow one construction and call of the wrapper into its method."""
        init = _method_named(route.wrapper, "__init__")
        given = {"init": _bind(init, ctor) if init is not None else {}, "call": _bind(route.method, call)}
        inputs = [self._tensor(_lookup(given["call"], p)) for p in route.inputs]
        args = [self._resolve(origin, given) for origin in route.args]
        kwargs = {k: self._resolve(origin, given) for k, origin in route.kwargs.items()}
        return Candidate("", inputs, args, kwargs)

    def _resolve(self, origin: _From, given: dict[str, dict[str, cst.BaseExpression]]) -> str:
        if origin.where == "literal":
            return origin.text
        return _convert(self._literal(_lookup(given[origin.where], origin.text)), origin.convert)

    def _routes(self) -> list[_Route]:
        """Every way a method of another class of the module calls the Function on its parameters."""
        routes = []
        for ref in sorted(self.refs, key=self.ctx.pos):
            place = self._method_of(ref)
            if place is None:
                continue
            for call, ctor, method in self._method_calls(ref, *place):
                with contextlib.suppress(_Reject):
                    routes.append(self._route(place, call, ctor, method))
        return routes

    def _method_calls(
        self, ref: cst.Name, wrapper: cst.ClassDef, home: cst.FunctionDef
    ) -> Iterator[tuple[cst.Call, cst.Call | None, cst.FunctionDef]]:
        """The calls of the Function that `ref` leads to, each with its constructor call (None for
        `Fn.apply`) and the method it is in: `home`, or another one when `__init__` keeps the
        instance in `self.attr`."""
        ctx = self.ctx
        parent = ctx.parent(ref)
        if self._is_apply(parent) and _called(ctx, parent):
            yield ctx.parent(parent), None, home
            return
        if not (isinstance(parent, cst.Call) and parent.func is ref):
            return
        for call in _instance_calls(ctx, parent, "apply", direct=True):
            if self._method_of(call) == (wrapper, home):
                yield call, parent, home
        held = m.Attribute(value=m.Name(_self_name(home)), attr=m.Name())
        keeper = ctx.parent(parent)
        if home.name.value != "__init__" or not m.matches(keeper, m.Assign(targets=[m.AssignTarget(target=held)])):
            return
        uses = self._attribute_uses(wrapper, keeper.targets[0].target.attr.value)
        if [a for a, _ in uses if ctx.is_store(a)] != [keeper.targets[0].target]:
            return
        for attribute, method in uses:
            for call in _calls_of(ctx, attribute, "apply", direct=True):
                yield call, parent, method

    def _route(self, place: _Place, call: cst.Call, ctor: cst.Call | None, method: cst.FunctionDef) -> _Route:
        """`call` in `method`, of the Function `ctor` makes (`Fn.apply` when None) in `place`."""
        wrapper, home = place
        if method.name.value == "__init__":
            raise _Reject  # the wrapper's callers never pass the inputs there
        values = self._positional(call)
        if ctor is None:
            split = len(values) if self.arity is None else self.arity
            args = [self._origin(v, wrapper, method) for v in values[split:]]
            kwargs, values = {}, values[:split]
        else:
            if any(a.star for a in ctor.args):
                raise _Reject
            args = [self._origin(a.value, wrapper, home) for a in ctor.args if a.keyword is None]
            kwargs = {a.keyword.value: self._origin(a.value, wrapper, home) for a in ctor.args if a.keyword}
        return _Route(wrapper, method, [self._parameter(v, method) for v in values], args, kwargs)

    def _origin(self, expr: cst.BaseExpression, wrapper: cst.ClassDef, home: cst.FunctionDef) -> _From:
        """Where a constructor argument written in method `home` of `wrapper` comes from."""
        if _is_literal(expr):
            return _From("literal", self._source(expr))
        if isinstance(expr, cst.Name):
            return _From("init" if home.name.value == "__init__" else "call", self._parameter(expr, home))
        if not m.matches(expr, m.Attribute(value=m.Name(_self_name(home)), attr=m.Name())):
            raise _Reject
        stores = [(a, fn) for a, fn in self._attribute_uses(wrapper, expr.attr.value) if self.ctx.is_store(a)]
        if len(stores) != 1 or stores[0][1].name.value != "__init__":
            raise _Reject
        attribute, init = stores[0]
        statement = self.ctx.parent(self.ctx.parent(attribute))
        if not m.matches(statement, m.Assign(targets=[m.AssignTarget()])):
            raise _Reject  # `self.a = self.b = x`, unpacking, `+=`...
        value, convert = statement.value, None
        if _is_literal(value):
            return _From("literal", self._source(value))
        if m.matches(value, _CONVERTED) and self._is_builtin(value.func):
            convert, value = value.func.value, value.args[0].value
        return _From("init", self._parameter(value, init), convert)

    def _method_of(self, node: cst.CSTNode) -> _Place | None:
        """The class (not the Function) and undecorated method whose body `node` is directly in."""
        scopes = (a for a in self.ctx.ancestors(node) if isinstance(a, (cst.FunctionDef, cst.Lambda, cst.ClassDef)))
        fn, cls = next(scopes, None), next(scopes, None)
        if not (isinstance(fn, cst.FunctionDef) and isinstance(cls, cst.ClassDef)) or cls is self.cls:
            return None
        if self.ctx.parent(self.ctx.parent(fn)) is not cls or fn.decorators or _self_name(fn) is None:
            return None
        return cls, fn

    def _attribute_uses(self, wrapper: cst.ClassDef, attr: str) -> list[tuple[cst.Attribute, cst.FunctionDef]]:
        """Each `self.<attr>` in the methods of `wrapper`, with its method."""
        uses = []
        for name in self.ctx.survey.names.get(attr, ()):
            node = self.ctx.parent(name)
            if not (isinstance(node, cst.Attribute) and node.attr is name):
                continue
            home = self._method_of(node)
            if home is not None and home[0] is wrapper and m.matches(node.value, m.Name(_self_name(home[1]))):
                uses.append((node, home[1]))
        return uses

    def _parameter(self, expr: cst.BaseExpression, fn: cst.FunctionDef) -> str:
        """The parameter of `fn` that `expr` plainly is (never rebound); anything else rejects."""
        bindings = self.ctx.bindings(expr, expr.value) if isinstance(expr, cst.Name) else []
        if len(bindings) != 1 or not any(bindings[0].node is p for p in _parameters(fn)):
            raise _Reject
        return expr.value

    def _is_builtin(self, name: cst.Name) -> bool:
        scope = self.ctx.scope_of(name)
        return scope is not None and scope.is_builtin(name.value)

    # -- values ----------------------------------------------------------------------------
    def _ctor(self, ctor: cst.Call) -> tuple[list[str], dict[str, str]]:
        """Literal constructor arguments; anything computed rejects the use."""
        args, kwargs = [], {}
        for arg in ctor.args:
            if arg.star:
                raise _Reject
            if arg.keyword is None:
                args.append(self._literal(arg.value))
            else:
                kwargs[arg.keyword.value] = self._literal(arg.value)
        return args, kwargs

    @staticmethod
    def _positional(call: cst.Call) -> list[cst.BaseExpression]:
        if any(a.star or a.keyword for a in call.args):
            raise _Reject
        return [a.value for a in call.args]

    def _literal(self, expr: cst.BaseExpression) -> str:
        if not _is_literal(expr):
            raise _Reject
        return self._source(expr)

    def _tensor(self, expr: cst.BaseExpression, variable_ok: bool = True) -> str:
        """A torch factory call as self-contained source, seen through names, one `Variable`
        and dtype/grad method chains; anything else rejects the use."""
        ctx = self.ctx
        if isinstance(expr, cst.Name):
            return self._tensor(self._bound_value(expr), variable_ok)
        if not isinstance(expr, cst.Call):
            raise _Reject
        qualified = ctx.imports.qualify(expr.func)
        factory = sorted(qualified & FACTORIES)
        if factory:
            return f"{factory[0]}({', '.join(self._factory_args(expr))})"
        if variable_ok and ctx.is_variable(expr.func):
            first = _argument(expr, 0, "data")
            if first is None or any(a.star for a in expr.args):
                raise _Reject
            return self._tensor(first, False)
        method = expr.func.attr.value if isinstance(expr.func, cst.Attribute) else None
        if method not in (*_KEEP_METHODS, *_DROP_METHODS) or any(a.star or not _is_literal(a.value) for a in expr.args):
            raise _Reject
        inner = self._tensor(expr.func.value, variable_ok)
        if method in _DROP_METHODS:
            return inner
        args = ", ".join(f"{a.keyword.value}=" * (a.keyword is not None) + self._source(a.value) for a in expr.args)
        return f"{inner}.{method}({args})"

    def _factory_args(self, call: cst.Call) -> Iterator[str]:
        for arg in call.args:
            if arg.star:
                raise _Reject
            if arg.keyword is not None and arg.keyword.value == "device":
                continue  # the worker runs on the CPU
            value = arg.value
            if _is_literal(value):
                text = self._source(value)
            elif dtype := sorted(self.ctx.imports.qualify(value) & DTYPES):
                text = dtype[0]
            else:
                raise _Reject
            yield text if arg.keyword is None else f"{arg.keyword.value}={text}"

    def _bound_value(self, name: cst.Name) -> cst.BaseExpression:
        """The value of `name = value`, the name's only binding in its scope, made before this use."""
        ctx = self.ctx
        bindings = ctx.bindings(name, name.value)
        if len(bindings) != 1:
            raise _Reject
        target = bindings[0].node
        if not isinstance(target, cst.Name) or not ctx.pos(target) < ctx.pos(name):
            raise _Reject
        statement = ctx.parent(target)
        if isinstance(statement, cst.AssignTarget):
            statement = ctx.parent(statement)
        if statement in ctx.ancestors(name):
            raise _Reject  # `x = f(x)`: each step must go strictly backwards, so lookups end
        if m.matches(statement, m.Assign(targets=[m.AssignTarget(target=m.Name())])):
            return statement.value
        if isinstance(statement, cst.AnnAssign) and statement.value is not None:
            return statement.value
        raise _Reject  # unpacking, a loop variable, a parameter, an import...

    def _is_apply(self, node: cst.CSTNode | None) -> bool:
        return m.matches(node, m.Attribute(attr=m.Name("apply"))) and node.value in self.refs

    def _source(self, node: cst.CSTNode) -> str:
        """Source text of a node on one line: what the worker evaluates and the report shows."""
        text = self.ctx.code(node).strip()
        if "\n" in text or "#" in text:
            with contextlib.suppress(SyntaxError):
                text = ast.unparse(ast.parse(text, mode="eval"))
        return text


# -- module facts ----------------------------------------------------------------------------
def _forward_arity(cls: cst.ClassDef) -> int | None:
    """How many inputs `forward` takes (after self/ctx); None when it takes *args or is inherited."""
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    forward = next((s for s in body if m.matches(s, m.FunctionDef(name=m.Name("forward")))), None)
    if forward is None or isinstance(forward.params.star_arg, cst.Param):
        return None
    return max(len([*forward.params.posonly_params, *forward.params.params]) - 1, 0)


def _argument(call: cst.Call, index: int, keyword: str) -> cst.BaseExpression | None:
    """The argument bound to parameter `keyword` at position `index`; None when absent or unpacked."""
    for i, arg in enumerate(call.args):
        if arg.star:
            return None
        if (arg.keyword is None and i == index) or (arg.keyword is not None and arg.keyword.value == keyword):
            return arg.value
    return None


def _instance_calls(ctx: ModuleContext, ctor: cst.Call, method: str, direct: bool) -> Iterator[cst.Call]:
    """Calls of the object `ctor` makes, there or through a name bound once to it (`f = Cls(args)`)
    and used after: `obj.method(...)`, and `obj(...)` when `direct`."""
    parent = ctx.parent(ctor)
    if not m.matches(parent, m.Assign(targets=[m.AssignTarget(target=m.Name())])):
        yield from _calls_of(ctx, ctor, method, direct)
        return
    target = parent.targets[0].target
    bindings = ctx.bindings(parent, target.value)
    if len(bindings) != 1:
        return
    for ref in bindings[0].references:
        if ctx.pos(ctor) < ctx.pos(ref):
            yield from _calls_of(ctx, ref, method, direct)


def _calls_of(ctx: ModuleContext, obj: cst.CSTNode, method: str, direct: bool) -> Iterator[cst.Call]:
    parent = ctx.parent(obj)
    if direct and isinstance(parent, cst.Call) and parent.func is obj:
        yield parent
    elif m.matches(parent, m.Attribute(attr=m.Name(method))) and _called(ctx, parent):
        yield ctx.parent(parent)


def _method_named(cls: cst.ClassDef, name: str) -> cst.FunctionDef | None:
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    return next((s for s in body if m.matches(s, m.FunctionDef(name=m.Name(name)))), None)


def _self_name(fn: cst.FunctionDef) -> str | None:
    first = [*fn.params.posonly_params, *fn.params.params][:1]
    return first[0].name.value if first else None


def _parameters(fn: cst.FunctionDef) -> list[cst.Param]:
    """The parameters a call passes by position or name: not `self`, `*args` or `**kwargs`."""
    return [*fn.params.posonly_params, *fn.params.params][1:] + list(fn.params.kwonly_params)


def _bind(fn: cst.FunctionDef, call: cst.Call) -> dict[str, cst.BaseExpression]:
    """What each parameter of method `fn` gets from `call` (which passes no `self`): positional
    arguments in order, keywords by name, defaults for the rest."""
    positional = [p.name.value for p in [*fn.params.posonly_params, *fn.params.params][1:]]
    params = {p.name.value: p for p in _parameters(fn)}
    bound = {name: p.default for name, p in params.items() if p.default is not None}
    for i, arg in enumerate(call.args):
        name = arg.keyword.value if arg.keyword is not None else (positional[i:] or [None])[0]
        if arg.star or name not in params:
            raise _Reject  # unpacked, or caught by `*args`/`**kwargs`
        bound[name] = arg.value
    return bound


def _lookup(bound: dict[str, cst.BaseExpression], name: str) -> cst.BaseExpression:
    if name not in bound:
        raise _Reject  # a parameter the call leaves without a value
    return bound[name]


def _convert(literal: str, convert: str | None) -> str:
    """The literal as `__init__` stored it (`int(2.7)` is `2`), as is when the conversion fails."""
    if convert is None:
        return literal
    try:
        text = repr(_CONVERSIONS[convert](ast.literal_eval(literal)))
        ast.literal_eval(text)  # `inf` is no literal
    except (ValueError, TypeError, SyntaxError, OverflowError):
        return literal
    return text


def _called(ctx: ModuleContext, node: cst.CSTNode) -> bool:
    parent = ctx.parent(node)
    return isinstance(parent, cst.Call) and parent.func is node


def _is_literal(expr: cst.BaseExpression) -> bool:
    """Numbers (signed too), strings, True/False/None, and tuples/lists of them: what
    `ast.literal_eval` reads back in the worker."""
    if m.matches(expr, _SCALAR):
        return True
    if isinstance(expr, cst.ConcatenatedString):
        return all(_is_literal(part) for part in (expr.left, expr.right))
    if isinstance(expr, (cst.Tuple, cst.List)):
        return all(isinstance(e, cst.Element) and _is_literal(e.value) for e in expr.elements)
    return False


def _in_main_block(ctx: ModuleContext, node: cst.CSTNode) -> bool:
    return any(isinstance(a, cst.If) and _is_main_test(a.test) for a in ctx.ancestors(node))


def _is_main_test(test: cst.BaseExpression) -> bool:
    """`__name__ == "__main__"`, either way round."""
    if not m.matches(test, _MAIN_TEST):
        return False
    sides = [test.left, test.comparisons[0].comparator]
    strings = [s.evaluated_value for s in sides if isinstance(s, cst.SimpleString)]
    return strings == ["__main__"] and any(m.matches(s, m.Name("__name__")) for s in sides)

"""Run one legacy class and its migration on the same inputs and compare them (worker side).

Both modules are loaded from source under the same dotted name, as separate module objects,
so package-relative imports resolve to the real siblings and `__main__` blocks do not run.
The legacy class runs through the legacy runtime, the migration through `.apply`, each on
fresh clones of the same float64 inputs, under the same seeds, with the same grad_outputs.
"""

from __future__ import annotations

import copy
import importlib.abc
import importlib.util
import inspect
import itertools
import re
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.autograd import Function

from autograd_migrate.verify.legacy_runtime import clear_runners, is_legacy_function, run_legacy, seeded
from autograd_migrate.verify.model import Candidate, Job, Verification

SEED = 0
RTOL, ATOL = 1e-7, 1e-10  # float64 results this close count as the same (reordered arithmetic)
RELAXED = {"eps": 1e-3, "atol": 1e-2, "rtol": 1e-2}
PROBE_SHAPES = [(3,), (2, 3), (3, 3), (4, 3), (3, 4), (4,), (2,), (2, 3, 4), (2, 2, 3, 3)]
PROBE_CTOR_VALUES = (2, 0.5, 1, (2, 2))
PROBE_ATTEMPTS = 300
_INTEGER_NAME = re.compile(r"(^|_)(idx|index|indices|label|labels|target|targets)(_|$)")
_ERA_03 = "Can't call numpy() on Tensor that requires grad"


class Refused(Exception):
    """The two classes cannot be called the same way: the verdict is in the message."""


# -- loading -------------------------------------------------------------------------------------
def load_module(path: str, source: str, name: str, sys_path: str) -> types.ModuleType:
    if sys_path not in sys.path:
        sys.path.insert(0, sys_path)
    spec = importlib.util.spec_from_loader(name, loader=None, origin=path)
    module = importlib.util.module_from_spec(spec)
    module.__file__ = path
    module.__package__ = name.rpartition(".")[0]
    code = compile(source, path, "exec", dont_inherit=True)
    previous = sys.modules.get(name)
    sys.modules[name] = module  # dataclasses, typing and pickle look the module up while it runs
    try:
        exec(code, module.__dict__)
    finally:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
    return module


# what the worker itself runs on (torch above all) is never imported afresh, even for a run on its own tree
_WORKER_PACKAGES = frozenset(name.split(".")[0] for name in sys.modules)


class _Sources(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the run's other modules from the given sources (legacy or migrated)."""

    def __init__(self, sources: dict[str, tuple[str, str]]) -> None:
        self.sources = sources

    def find_spec(self, name, path=None, target=None):
        if name not in self.sources:
            return None
        file, _ = self.sources[name]
        package = file.endswith("__init__.py")
        spec = importlib.util.spec_from_loader(name, self, origin=file, is_package=package)
        if package:
            spec.submodule_search_locations = [str(Path(file).parent)]
        spec.has_location = True
        return spec

    def exec_module(self, module: types.ModuleType) -> None:
        file, source = self.sources[module.__name__]
        module.__file__ = file
        exec(compile(source, file, "exec", dont_inherit=True), module.__dict__)


@contextmanager
def same_state(job: Job, migrated: bool) -> Iterator[None]:
    """While one side loads, its package is imported afresh, with the other modules the run
    migrates in the same state as that side; afterwards the interpreter is as it was."""
    tops = {name.split(".")[0] for name in [job.module, *job.siblings]} - _WORKER_PACKAGES
    mine = [n for n in sys.modules if n.split(".")[0] in tops]
    saved = {n: sys.modules.pop(n) for n in mine}
    finder = _Sources({n: (path, new if migrated else old) for n, (path, old, new) in job.siblings.items()})
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n.split(".")[0] in tops]:
            del sys.modules[name]
        sys.modules.update(saved)


_MODERN_CALL = Function.__call__


def load_original(job: Job) -> types.ModuleType:
    """The original module, whose own code may call its legacy classes the legacy way: at
    import (scripts with top-level code) and later (`Inner(k)(x)` inside another Function's
    forward). Legacy calls work during its import through `Function.__call__`, afterwards
    through this module's own class objects; the migrated module has its own and gets neither."""
    Function.__call__ = _legacy_call
    try:
        module = load_module(job.path, job.legacy_source, job.module, job.sys_path)
    finally:
        Function.__call__ = _MODERN_CALL
    for cls in list(vars(module).values()):
        if isinstance(cls, type) and cls.__module__ == module.__name__ and is_legacy_function(cls):
            cls.__call__ = _legacy_call
    return module


def _legacy_call(self, *args, **kwargs):
    if not is_legacy_function(type(self)):
        return _MODERN_CALL(self, *args, **kwargs)
    return run_legacy(type(self), instance=self)(*args, **kwargs)


# -- how each side is called -----------------------------------------------------------------
def _params(fn: Callable, skip_first: bool) -> list[inspect.Parameter]:
    params = list(inspect.signature(fn).parameters.values())
    return params[1:] if skip_first else params


@dataclass
class Calls:
    """The legacy signatures (forward inputs, constructor) and, for each parameter of the
    migrated forward, what fills it: an input (by index) or a constructor argument (by name)."""

    legacy: type
    migrated: type
    inputs: list[inspect.Parameter]
    ctor: list[inspect.Parameter]
    slots: list[tuple[str, int | str, inspect.Parameter]]  # ("input", i, p) or ("ctor", name, p)
    # AGM011: the migration is a plain class whose instances apply `migrated.Function`; both
    # sides are then called as instances, and each function made below keeps its own instance
    stateful: bool = False

    @classmethod
    def of(cls, legacy: type, migrated: type) -> Calls:
        inputs = [p for p in _params(legacy.forward, True) if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        init = next((k.__dict__["__init__"] for k in legacy.__mro__ if "__init__" in k.__dict__), None)
        own_init = init is not None and not getattr(init, "__module__", "").startswith("torch")
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        ctor = [p for p in _params(init, True) if p.kind in kinds] if own_init else []
        if is_stateful(migrated):
            return cls(legacy, migrated, inputs, ctor, [], stateful=True)
        params = [p for p in _params(migrated.forward, True) if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        in_names, ctor_names = [p.name for p in inputs], [p.name for p in ctor]
        by_name = {p.name for p in params} == {*in_names, *ctor_names} and len(params) == len(in_names) + len(ctor)
        if by_name:  # every parameter kept its name: any order is fine
            slots = [
                ("input", in_names.index(p.name), p) if p.name in in_names else ("ctor", p.name, p) for p in params
            ]
            return cls(legacy, migrated, inputs, ctor, slots)
        n = len(inputs)
        rest = params[n:]
        if sorted(p.name for p in rest) != sorted(ctor_names) and len(rest) != len(ctor_names):
            raise Refused(
                f"the migrated forward takes {len(rest)} parameter(s) after the inputs, the legacy "
                f"constructor {len(ctor_names)} ({', '.join(ctor_names) or 'none'})"
            )
        names_kept = sorted(p.name for p in rest) == sorted(ctor_names)
        tail = [("ctor", p.name if names_kept else ctor_names[i], p) for i, p in enumerate(rest)]
        return cls(legacy, migrated, inputs, ctor, [("input", i, p) for i, p in enumerate(params[:n])] + tail)

    def ctor_values(self, args: list, kwargs: dict) -> dict[str, object]:
        bound = inspect.Signature([inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY), *self.ctor])
        values = bound.bind(None, *args, **kwargs)
        values.apply_defaults()
        return {name: values.arguments[name] for name in (p.name for p in self.ctor)}

    def legacy_fn(self, values: dict, era: str) -> Callable:
        if self.stateful:  # one instance for every call, as the legacy caller kept it
            return run_legacy(self.legacy, era=era, instance=self.legacy(**copy.deepcopy(values)))
        # every run gets its own copy: a legacy backward may update a table it was given in place
        return lambda *xs: run_legacy(self.legacy, (), copy.deepcopy(values), era=era)(*xs)

    def migrated_fn(self, n_given: int, values: dict) -> Callable:
        """`Fn.apply` with the inputs and `values` in the migrated forward's order; a constructor
        parameter missing from `values`, or an input not given, takes the migrated default."""
        if self.stateful:
            return self.migrated(**copy.deepcopy(values))
        fixed: list[tuple[int | None, object, bool]] = []  # (input index | None, value, a default?)
        for kind, key, param in self.slots:
            if kind == "input" and key < n_given:
                fixed.append((key, None, False))
            elif kind == "ctor" and key in values:
                fixed.append((None, values[key], False))
            elif param.default is not param.empty:
                fixed.append((None, param.default, True))
            else:
                raise Refused(f"the migrated forward has no default for `{param.name}`")
        while fixed and fixed[-1][2]:
            fixed.pop()  # a call leaves trailing defaults out, and so backward owes no gradient for them
        return lambda *xs: self.migrated.apply(*(xs[i] if i is not None else v for i, v, _ in copy.deepcopy(fixed)))


# -- one run of one side ---------------------------------------------------------------------
@dataclass
class Side:
    outputs: tuple = ()
    differentiable: tuple = ()
    grads: tuple = ()
    error: str | None = None


def _clone_leaves(base: list) -> list:
    return [t.detach().clone().requires_grad_(t.requires_grad) if isinstance(t, torch.Tensor) else t for t in base]


def _fresh(leaves: list) -> list:
    """Clones of the leaves, so in-place Functions never touch a leaf (and every call sees the same)."""
    return [t.clone() if isinstance(t, torch.Tensor) and t.requires_grad else t for t in leaves]


def run_side(fn: Callable, base: list) -> Side:
    leaves = _clone_leaves(base)
    try:
        with seeded(SEED + 1):
            out = fn(*_fresh(leaves))
    except Exception as exc:
        return Side(error=f"forward raised {_describe(exc)}")
    outs = out if isinstance(out, tuple) else (out,)
    differentiable = tuple(isinstance(o, torch.Tensor) and o.requires_grad for o in outs)
    diff = [o for o, d in zip(outs, differentiable, strict=True) if d]
    wrt = [t for t in leaves if isinstance(t, torch.Tensor) and t.requires_grad]
    grads: tuple = ()
    if diff and wrt:
        gen = torch.Generator().manual_seed(SEED + 2)
        grad_outputs = [torch.randn(o.shape, generator=gen, dtype=o.dtype) for o in diff]
        try:
            with seeded(SEED + 3):
                raw = torch.autograd.grad(diff, wrt, grad_outputs, allow_unused=True)
        except Exception as exc:
            return Side(error=f"backward raised {_describe(exc)}")
        grads = tuple(torch.zeros_like(w) if g is None else g.detach() for g, w in zip(raw, wrt, strict=True))
    detached = tuple(o.detach() if isinstance(o, torch.Tensor) else o for o in outs)
    return Side(detached, differentiable, grads)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


# -- comparing -------------------------------------------------------------------------------------
def _difference(a: object, b: object) -> tuple[str | None, float]:
    """(what differs, or None; the max abs difference when they are close but not identical)."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape:
            return f"shape {tuple(a.shape)} before, {tuple(b.shape)} after", 0.0
        if a.dtype != b.dtype:
            return f"dtype {a.dtype} before, {b.dtype} after", 0.0
        if torch.equal(a, b) or a.numel() == 0:
            return None, 0.0
        if not (a.is_floating_point() or a.is_complex()):
            return "values differ", 0.0
        diff = (a - b).abs()
        diff = torch.where(torch.isnan(a) & torch.isnan(b), torch.zeros_like(diff), diff)
        max_abs = float(diff.max())
        scale = float(a.abs().max()) or 1.0
        if torch.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True):
            return None, max_abs
        return f"max abs difference {max_abs:.3g}, max rel difference {max_abs / scale:.3g}", max_abs
    if type(a) is not type(b) or a != b:
        return f"{a!r} before, {b!r} after", 0.0
    return None, 0.0


def compare(before: Side, after: Side, names: list[str]) -> tuple[str | None, float]:
    if len(before.outputs) != len(after.outputs):
        return f"forward returns {len(before.outputs)} output(s) before, {len(after.outputs)} after", 0.0
    worst = 0.0
    for i, (a, b) in enumerate(zip(before.outputs, after.outputs, strict=True)):
        what, close = _difference(a, b)
        if what:
            return f"output {i}: {what}", 0.0
        worst = max(worst, close)
    if before.differentiable != after.differentiable:
        return f"differentiable outputs {before.differentiable} before, {after.differentiable} after", 0.0
    for i, (a, b) in enumerate(zip(before.grads, after.grads, strict=True)):
        what, close = _difference(a, b)
        if what:
            name = names[i] if i < len(names) else str(i)
            return f"gradient of input `{name}`: {what}", 0.0
        worst = max(worst, close)
    return None, worst


def gradcheck(fn: Callable, base: list) -> str:
    inputs = tuple(_clone_leaves(base))
    if not any(isinstance(t, torch.Tensor) and t.requires_grad for t in inputs):
        return "not run: no input requires grad"

    def seeded_fn(*xs):
        with seeded(SEED + 1):
            return fn(*_fresh(list(xs)))

    try:
        if torch.autograd.gradcheck(seeded_fn, inputs, raise_exception=False, check_undefined_grad=False):
            return "passed"
        if torch.autograd.gradcheck(seeded_fn, inputs, raise_exception=False, check_undefined_grad=False, **RELAXED):
            return "passed (relaxed: eps=1e-3, atol=rtol=1e-2)"
        return "failed"
    except Exception as exc:
        return f"not run: {_describe(exc)}"


# -- inputs ----------------------------------------------------------------------------------------
def build(candidate: Candidate) -> tuple[list, list, dict]:
    namespace = {"torch": torch}
    try:
        import numpy

        namespace.update(np=numpy, numpy=numpy)
    except ImportError:
        pass
    with seeded(SEED):  # literals, or torch factories: the user's own code runs here anyway
        values = [eval(expr, namespace) for expr in candidate.inputs]  # noqa: S307
        args = [_float64(eval(a, namespace)) for a in candidate.args]  # noqa: S307
        kwargs = {k: _float64(eval(v, namespace)) for k, v in candidate.kwargs.items()}  # noqa: S307
    inputs = [_float64(v).requires_grad_() if _floating(v) else v for v in values]
    return inputs, args, kwargs


def _floating(value: object) -> bool:
    return isinstance(value, torch.Tensor) and value.is_floating_point()


def _float64(value: object) -> object:
    return value.detach().to(torch.float64) if _floating(value) else value


def probes(calls: Calls) -> Iterator[Candidate]:
    """Small float64 tensors of 1-D to 4-D shapes: all inputs alike first, then jointly."""
    required = [p for p in calls.inputs if p.default is p.empty and p.kind != p.VAR_KEYWORD]
    names = [p.name for p in required if p.kind != p.VAR_POSITIONAL] or ["x"]
    missing = [p for p in calls.ctor if p.default is p.empty]
    ctor_options = [[]] if not missing else [[v] * len(missing) for v in PROBE_CTOR_VALUES]

    def tensor(name: str, shape: tuple) -> str:
        if _INTEGER_NAME.search(name):
            return f"torch.randint(0, 2, {shape})"
        return f"torch.randn{shape}"

    alike = [(shape,) * len(names) for shape in PROBE_SHAPES]
    joint = (c for c in itertools.product(PROBE_SHAPES, repeat=len(names)) if len(set(c)) > 1)
    for shapes in itertools.islice(itertools.chain(alike, joint), PROBE_ATTEMPTS):
        desc = ", ".join("x".join(map(str, s)) for s in shapes)
        inputs = [tensor(n, s) for n, s in zip(names, shapes, strict=True)]
        for args in ctor_options:
            yield Candidate(f"probed: shapes {desc}", inputs, [repr(a) for a in args])
        if missing:  # tables and buffers passed to the constructor: shaped like the first input
            yield Candidate(
                f"probed: shapes {desc}, tensor arguments", inputs, [f"torch.randn{shapes[0]}"] * len(missing)
            )


# -- the verdict -------------------------------------------------------------------------------------
def verify(job: Job) -> Verification:
    try:
        return _verify(job)
    finally:
        clear_runners()  # the runners hold the job's classes, and through them its modules


def _verify(job: Job) -> Verification:
    result = Verification(job.path, job.cls, "skipped")
    try:
        with same_state(job, migrated=False):
            legacy_module = load_original(job)
    except Exception as exc:
        result.detail = f"{_needs(exc)}importing the original failed: {_describe(exc)}"
        return result
    try:
        with same_state(job, migrated=True):
            migrated_module = load_module(job.migrated_path, job.migrated_source, job.module, job.sys_path)
    except Exception as exc:
        return _verdict(result, "different", f"the migrated module fails to import: {_describe(exc)}")
    legacy, migrated = getattr(legacy_module, job.cls, None), getattr(migrated_module, job.cls, None)
    if not (isinstance(legacy, type) and is_legacy_function(legacy)):
        result.detail = "not a legacy Function reachable at module level"
        return result
    if not isinstance(migrated, type) or not (hasattr(migrated, "apply") or is_stateful(migrated)):
        return _verdict(result, "different", "the migrated module has no Function of that name")
    try:
        calls = Calls.of(legacy, migrated)
    except Refused as exc:
        return _verdict(result, "different", str(exc))
    return _run(job, calls, result)


def is_stateful(migrated: type) -> bool:
    """A class split for its state (AGM011): plain, with the nested static `Function`."""
    nested = getattr(migrated, "Function", None)
    return not hasattr(migrated, "apply") and isinstance(nested, type) and issubclass(nested, Function)


def _verdict(result: Verification, status: str, detail: str) -> Verification:
    result.status, result.detail = status, detail
    return result


def _run(job: Job, calls: Calls, result: Verification) -> Verification:
    deadline = time.monotonic() + job.timeout * 0.5  # leave time for gradcheck
    last_error = "no candidate inputs"
    candidates = itertools.chain(job.candidates, probes(calls) if job.probe else ())
    for candidate in candidates:
        if time.monotonic() > deadline:
            break
        try:
            inputs, args, kwargs = build(candidate)
            values = calls.ctor_values(args, kwargs)
        except Exception as exc:
            last_error = f"{candidate.source}: {_describe(exc)}"
            continue
        era = "1.x"
        before = run_side(calls.legacy_fn(values, era), inputs)
        if before.error and _ERA_03 in before.error:
            era = "0.3"  # 0.2/0.3 code: forward saw raw tensors
            before = run_side(calls.legacy_fn(values, era), inputs)
        if before.error:
            last_error = f"{candidate.source}: {before.error}"
            continue
        result.inputs_from = candidate.source + (" (0.3 semantics)" if era == "0.3" else "")
        return _judge(calls, inputs, values, era, before, result)
    result.detail = f"{_needs_text(last_error)}no usable inputs (last attempt: {last_error})"
    return result


def _judge(calls: Calls, inputs: list, values: dict, era: str, before: Side, result: Verification):
    names = [p.name for p in calls.inputs]
    if calls.stateful:  # state builds up over the calls of one instance: compare three in a row
        legacy_fn, migrated_fn = calls.legacy_fn(values, era), calls.migrated_fn(len(inputs), values)
        for step in (1, 2, 3):
            what, _ = compare(run_side(legacy_fn, inputs), run_side(migrated_fn, inputs), names)
            if what:
                return _verdict(result, "different", f"call {step} of one instance: {what}")
    try:
        after = run_side(calls.migrated_fn(len(inputs), values), inputs)
    except Refused as exc:
        return _verdict(result, "different", str(exc))
    if after.error:
        return _verdict(result, "different", f"the migration fails where the original runs: {after.error}")
    what, close = compare(before, after, names)
    if what:
        return _verdict(result, "different", what)
    notes = [
        "outputs and gradients identical" if close == 0 else f"outputs and gradients agree (max abs diff {close:.3g})"
    ]
    if calls.stateful:
        notes.insert(0, "three calls of one instance agree")
    for label, other in _other_ctor_values(calls, values):
        legacy_side = run_side(calls.legacy_fn(other, era), inputs)
        if legacy_side.error:
            continue  # the original itself does not accept these values
        try:
            migrated_side = run_side(calls.migrated_fn(len(inputs), other), inputs)
        except Refused as exc:
            notes.append(f"{exc} (callers must pass it)")
            continue
        what, _ = (migrated_side.error, 0.0) if migrated_side.error else compare(legacy_side, migrated_side, names)
        if what:
            return _verdict(result, "different", f"with {label}: {what}")
        notes.append(f"{label} agree")
    result.gradcheck_before = gradcheck(calls.legacy_fn(values, era), inputs)
    result.gradcheck_after = gradcheck(calls.migrated_fn(len(inputs), values), inputs)
    if result.gradcheck_before == result.gradcheck_after == "failed":
        notes.append(
            "gradcheck fails before and after: the original backward is not the gradient of its forward "
            "(a bug, or deliberate as in gradient reversal); not caused by the migration"
        )
    elif result.gradcheck_before.startswith("passed") and result.gradcheck_after == "failed":
        return _verdict(result, "different", "gradcheck passes before the migration and fails after")
    return _verdict(result, "equivalent", "; ".join(notes))


def _other_ctor_values(calls: Calls, values: dict) -> Iterator[tuple[str, dict]]:
    """A migration can agree on the harvested constructor arguments and still be wrong: with a
    default changed, or a value hard-coded. So both sides also run with the defaults left out,
    and with every number nudged."""
    required = {p.name: values[p.name] for p in calls.ctor if p.default is p.empty}
    if len(required) < len(calls.ctor):
        yield "the constructor defaults", required
    nudged = {
        name: (v + 1 if isinstance(v, int) else v * 1.5 + 0.25)
        for name, v in values.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    if nudged:
        label = ", ".join(f"{k}={v!r}" for k, v in nudged.items())
        yield f"other constructor arguments ({label})", {**values, **nudged}


def _needs(exc: BaseException) -> str:
    return _needs_text(_describe(exc))


def _needs_text(text: str) -> str:
    """What a skipped class would need to run here, when the error says so."""
    if re.search(r"cuda|CUDA|cudnn|is_cuda", text):
        return "needs CUDA: "
    if re.search(r"undefined symbol|cannot open shared object", text):
        return "needs a compiled extension: "
    if "No module named" in text:
        return "needs a module that is not installed (a compiled extension?): "
    return ""

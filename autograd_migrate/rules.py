"""The catalogue of finding codes.

Each rule is a small class carrying its code, its one-line message (what to do), its
documentation (what it finds, why it matters, fix safety) and an example pair. The README's
code table and the tests' example checks are generated from these classes, so a rule is
documented and tested in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]  # one line for the docs
    message: ClassVar[str]  # str.format template; says what to do
    # "safe": applied by --fix; "unsafe": applied only with --unsafe-fixes (right in the common
    # case, but it can change behaviour); "manual": reported, never rewritten
    applicability: ClassVar[str]
    why: ClassVar[str]
    invalid: ClassVar[str]  # a module that triggers the rule
    fixed: ClassVar[str | None] = None  # what `--fix` makes of `invalid` (fixable rules)

    @classmethod
    def format(rule, **kw: object) -> str:  # noqa: N805 - `cls` is a message field
        return rule.message.format(**kw)


_IMPORTS = "import torch\nfrom torch.autograd import Function\n\n\n"


class LegacyFunction(Rule):
    code = "AGM001"
    name = "legacy-function"
    summary = (
        "Instance-method forward/backward: make them static methods taking ctx; constructor parameters move to forward."
    )
    message = "legacy autograd Function `{cls}`: make forward/backward static methods taking ctx{detail}"
    applicability = "safe"
    why = (
        "Since torch 1.5, calling a Function with instance-method forward raises "
        "'Legacy autograd function with non-static forward method is deprecated'. The fix makes "
        "forward/backward static, renames their first parameter to ctx, keeps state on ctx, moves "
        "constructor parameters to the end of forward and returns one None gradient for each."
    )
    invalid = _IMPORTS + (
        "class Scale(Function):\n"
        "    def __init__(self, k):\n"
        "        super().__init__()\n"
        "        self.k = k\n\n"
        "    def forward(self, x):\n"
        "        return x * self.k\n\n"
        "    def backward(self, g):\n"
        "        return g * self.k\n"
    )
    fixed = _IMPORTS + (
        "class Scale(Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x, k):\n"
        "        ctx.k = k\n"
        "        return x * ctx.k\n\n"
        "    @staticmethod\n"
        "    def backward(ctx, g):\n"
        "        return g * ctx.k, None\n"
    )


class LegacyCall(Rule):
    code = "AGM002"
    name = "legacy-call"
    summary = "`Fn(args)(x)`, or `f = Fn(args); f(x)`: call `Fn.apply(x, args)`."
    message = "legacy call of `{cls}`: use `{cls}.apply(inputs..., constructor args...)`"
    applicability = "safe"
    why = (
        "`Fn(args)(x)` instantiates the Function and calls it, which modern torch refuses. "
        "`Fn.apply` takes the inputs followed by the former constructor arguments, positionally."
    )
    invalid = _IMPORTS + (
        "class Neg(Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x):\n"
        "        return -x\n\n"
        "    @staticmethod\n"
        "    def backward(ctx, g):\n"
        "        return -g\n\n\n"
        "y = Neg()(torch.ones(2))\n"
    )
    fixed = invalid.replace("Neg()(torch.ones(2))", "Neg.apply(torch.ones(2))")


_LEGACY_NEG = _IMPORTS + (
    "class Neg(Function):\n"
    "    def forward(self, x):\n"
    "        return -x\n\n"
    "    def backward(self, g):\n"
    "        return -g\n\n\n"
)


class InstanceApply(Rule):
    code = "AGM003"
    name = "instance-apply"
    summary = "`Fn(args).apply(x)` drops the constructor state: call `Fn.apply(x, args)`."
    message = (
        "`{cls}(...).apply(...)` runs forward on a fresh ctx that never saw the constructor "
        "arguments: use `{cls}.apply(inputs..., constructor args...)`"
    )
    applicability = "safe"
    why = (
        "The usual wrong hand migration: `.apply` on an instance ignores the instance, so state "
        "set by `__init__` is missing when forward or backward reads it."
    )
    invalid = LegacyCall.invalid.replace("Neg()(torch.ones(2))", "Neg().apply(torch.ones(2))")
    fixed = LegacyCall.fixed


class SavedVariables(Rule):
    code = "AGM004"
    name = "saved-variables"
    summary = "`ctx.saved_variables`: use `ctx.saved_tensors`."
    message = "`saved_variables` is a deprecated alias: use `saved_tensors`"
    applicability = "safe"
    why = "`ctx.saved_variables` is kept only as a deprecated alias of `ctx.saved_tensors`."
    invalid = _IMPORTS + (
        "class Sq(Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x):\n"
        "        ctx.save_for_backward(x)\n"
        "        return x * x\n\n"
        "    @staticmethod\n"
        "    def backward(ctx, g):\n"
        "        (x,) = ctx.saved_variables\n"
        "        return 2 * x * g\n"
    )
    fixed = invalid.replace("saved_variables", "saved_tensors")


class VariableWrapper(Rule):
    code = "AGM005"
    name = "variable-wrapper"
    summary = (
        "`Variable(t, ...)`: use the tensor; `requires_grad=True` becomes the factory keyword "
        "or `.detach().requires_grad_()`."
    )
    message = "`Variable(...)` is a deprecated wrapper: {detail}"
    applicability = "safe"
    why = (
        "Since torch 0.4 tensors carry autograd state themselves; `Variable` is a deprecated shim "
        "and `volatile=` is ignored. `requires_grad=True` becomes the factory keyword or "
        "`.detach().requires_grad_()`, which is exactly what the shim does."
    )
    invalid = (
        "import torch\nfrom torch.autograd import Variable\n\nx = Variable(torch.randn(2, 3), requires_grad=True)\n"
    )
    fixed = "import torch\n\nx = torch.randn(2, 3, requires_grad=True)\n"


class VariableImport(Rule):
    code = "AGM006"
    name = "variable-import"
    summary = "`from torch.autograd import Variable` left unused: remove it."
    message = "import of the deprecated `Variable`: remove it once its uses are gone"
    applicability = "safe"
    why = "After the wrappers are removed the import is unused; `Variable` is deprecated."
    invalid = "import torch\nfrom torch.autograd import Variable\n\nx = torch.ones(1)\n"
    fixed = "import torch\n\nx = torch.ones(1)\n"


class VariableType(Rule):
    code = "AGM008"
    name = "variable-type"
    summary = "`isinstance(x, Variable)`: use `torch.Tensor`, which is exactly what it tests now."
    message = "`Variable` as a type: `isinstance(x, Variable)` is `isinstance(x, torch.Tensor)` since torch 0.4"
    applicability = "safe"
    why = (
        "`Variable`'s metaclass answers isinstance checks with `isinstance(x, torch.Tensor)`, so the "
        "replacement is exact; it is made where `torch` is imported as a name."
    )
    invalid = "import torch\nfrom torch.autograd import Variable\n\nok = isinstance(torch.ones(1), Variable)\n"
    fixed = "import torch\n\nok = isinstance(torch.ones(1), torch.Tensor)\n"


class MarkSharedStorage(Rule):
    code = "AGM007"
    name = "mark-shared-storage"
    summary = "`mark_shared_storage(...)` is a no-op: remove the call."
    message = "`mark_shared_storage` has been a no-op since torch 0.4: remove the call"
    applicability = "safe"
    why = "The call does nothing on modern torch and no longer exists on the ctx."
    invalid = SavedVariables.fixed.replace(
        "        ctx.save_for_backward(x)\n",
        "        ctx.save_for_backward(x)\n        ctx.mark_shared_storage((x, x))\n",
    )
    fixed = SavedVariables.fixed


class HeldInstance(Rule):
    code = "AGM009"
    name = "held-instance"
    summary = (
        "`self.fn = Fn(args)` in a class, `self.fn(x)` in its methods: keep the arguments in "
        "`self.fn`, call `Fn.apply(x, *self.fn)` (unsafe fix)."
    )
    message = "an instance of `{cls}` is held in `self.{attr}` and called from the methods of `{holder}`: {todo}"
    applicability = "unsafe"
    why = (
        "A Module that builds the Function once and calls it on every forward relied on one "
        "instance serving every call. The fix keeps the constructor arguments (evaluated where "
        "they were) in the attribute and calls `Fn.apply(x, *self.fn)`. It is unsafe: each call "
        "now gets its own ctx (legacy torch shared one object, whose state a call could leave "
        "for the next), the constructor body runs on every call, and the attribute now holds a "
        "tuple, which code elsewhere (another module, a checkpoint pickled with the instance) may "
        "not expect. Uses of the attribute anywhere else in the same module keep it manual."
    )
    invalid = LegacyFunction.invalid + (
        "\n\nclass Branch(torch.nn.Module):\n"
        "    def __init__(self, k):\n"
        "        super().__init__()\n"
        "        self.scale = Scale(k)\n\n"
        "    def forward(self, x):\n"
        "        return self.scale(x)\n"
    )
    fixed = LegacyFunction.fixed + (
        "\n\nclass Branch(torch.nn.Module):\n"
        "    def __init__(self, k):\n"
        "        super().__init__()\n"
        "        self.scale = (k,)\n\n"
        "    def forward(self, x):\n"
        "        return Scale.apply(x, *self.scale)\n"
    )


class ModuleInstance(Rule):
    code = "AGM010"
    name = "module-instance"
    summary = (
        "`fn = Fn(constants)` at module level, called elsewhere: make `fn` a function that calls "
        "`Fn.apply` (unsafe fix)."
    )
    message = (
        "an instance of `{cls}` is kept at module level as `{name}`: --unsafe-fixes makes `{name}` a "
        "function of forward's inputs that calls `{cls}.apply`"
    )
    applicability = "unsafe"
    why = (
        "A module-level instance is called wherever the module is imported, so its call sites cannot "
        "all be found. That holds even when the module calls it only once, if another file of the run "
        "names it and its module (the one call is not inlined then: that would delete the name). "
        "Replacing it with a function of the same name and inputs keeps every caller "
        "working. It is unsafe: each call now gets its own ctx (legacy torch shared one object), "
        "the constructor body runs on every call, and the name now holds a function, which changes "
        "isinstance checks and pickling. Constructor arguments must be constants; any attribute "
        "use of the instance keeps it manual."
    )
    invalid = LegacyFunction.invalid + "\n\nscale = Scale(2.0)\n\n\ndef double(x):\n    return scale(x)\n"
    fixed = (
        LegacyFunction.fixed
        + "\n\ndef scale(x):\n    return Scale.apply(x, 2.0)\n\n\ndef double(x):\n    return scale(x)\n"
    )


class StatefulInstance(Rule):
    code = "AGM011"
    name = "stateful-instance"
    summary = (
        "State kept on one instance from call to call: `Fn` becomes a plain class whose instances "
        "apply a nested static `Fn.Function` (unsafe fix)."
    )
    message = (
        "`{cls}` keeps state on its instances from call to call: "
        "--unsafe-fixes makes it a plain class whose instances call `{cls}.Function.apply(inputs..., self)`"
    )
    applicability = "unsafe"
    why = (
        "A gradient-reversal layer that counts its calls (`self.iter_num += 1`) to schedule its "
        "coefficient, built once and called on every step, possibly from another module; a solver "
        "whose instance is returned and read after the call (`step.back_out`); any instance with "
        "state that is called again, passed on or returned: the standard migration has nowhere "
        "to keep that state. The fix keeps `Fn` as a plain class: "
        "its constructor, helpers and attributes stay, and calling an instance applies the nested "
        "static `Fn.Function` with the instance as the last input, which forward keeps on ctx for "
        "backward. No call site changes, in any module: instances are built, passed around, called "
        "and read as before, and share their state between calls as legacy torch did. It is unsafe "
        "because `Fn` is no longer a Function (isinstance checks, `Fn.apply`, pickled instances) "
        "and overlapping calls of one instance share every attribute. It is refused for classes "
        "with Function bases or subclasses, `super()` in forward or backward, and uses of "
        "`Fn.apply`/`Fn.forward` anywhere."
    )
    invalid = _IMPORTS + (
        "class Reverse(Function):\n"
        "    def __init__(self, high=1.0):\n"
        "        super().__init__()\n"
        "        self.calls = 0\n"
        "        self.high = high\n\n"
        "    def forward(self, x):\n"
        "        self.calls += 1\n"
        "        return x.view_as(x)\n\n"
        "    def backward(self, g):\n"
        "        return -g * min(self.calls / 100, self.high)\n\n\n"
        "def train(batches):\n"
        "    grl = Reverse()\n"
        "    return [grl(x).sum() for x in batches]\n"
    )
    fixed = _IMPORTS + (
        "class Reverse:\n"
        "    def __init__(self, high=1.0):\n"
        "        super().__init__()\n"
        "        self.calls = 0\n"
        "        self.high = high\n\n"
        "    def __call__(self, x):\n"
        "        return Reverse.Function.apply(x, self)\n\n"
        "    class Function(Function):\n"
        "        @staticmethod\n"
        "        def forward(ctx, x, state):\n"
        "            ctx.state = state\n"
        "            state.calls += 1\n"
        "            return x.view_as(x)\n\n"
        "        @staticmethod\n"
        "        def backward(ctx, g):\n"
        "            state = ctx.state\n"
        "            return -g * min(state.calls / 100, state.high), None\n\n\n"
        "def train(batches):\n"
        "    grl = Reverse()\n"
        "    return [grl(x).sum() for x in batches]\n"
    )


class CtorVarargs(Rule):
    code = "AGM101"
    name = "ctor-varargs"
    summary = "`__init__(self, *args, **kwargs)`: the constructor parameters must be moved to forward by hand."
    message = (
        "`{cls}.__init__` takes *args/**kwargs, which cannot be moved to forward mechanically: "
        "move its parameters to forward by hand"
    )
    applicability = "manual"
    why = (
        "Forward receives the constructor arguments positionally; their names must be known. "
        "Varargs the constructor only passes on to `super().__init__` are no obstacle: Function's "
        "constructor takes none, so they are dropped."
    )
    invalid = LegacyFunction.invalid.replace("def __init__(self, k)", "def __init__(self, *args)").replace(
        "self.k = k", "self.k = args[0]"
    )


class InstanceReused(Rule):
    code = "AGM102"
    name = "instance-reused"
    summary = "One instance called more than once: decide by hand what the shared state meant."
    message = (
        "an instance of `{cls}` is called more than once (legacy torch shared or clobbered its "
        "state between calls): call `{cls}.apply(...)` once per use"
    )
    applicability = "manual"
    why = (
        "Each legacy call stored its state on the same object, so the second call overwrote "
        "what backward of the first one needed. The intended behaviour must be chosen by hand. "
        "For a class with state (attributes it sets on `self`), AGM011 keeps the instance instead."
    )
    invalid = _LEGACY_NEG + "def run():\n    f = Neg()\n    y = f(torch.ones(2))\n    return y + f(torch.ones(2))\n"


class SelfIntrospection(Rule):
    code = "AGM103"
    name = "self-introspection"
    summary = "Properties, `type(self)`, `self.__class__`, `isinstance(self, ...)`, `self` passed on: migrate by hand."
    message = "`{cls}` uses {what}: the modern ctx is not an instance of the class, migrate this by hand"
    applicability = "manual"
    why = (
        "After migration `self` becomes the ctx object torch creates, which is not an instance "
        "of the class: properties, `type(self)`, `self.__class__`, `isinstance(self, ...)` and "
        "passing `self` elsewhere behave differently."
    )
    invalid = LegacyFunction.invalid.replace("return x * self.k", "return x * type(self).k")


class MethodOutside(Rule):
    code = "AGM104"
    name = "method-outside"
    summary = "A method of the class (e.g. `forward`) used outside it: migrate by hand."
    message = "`{cls}.{method}` is used outside the class: after migration it takes ctx; migrate by hand"
    applicability = "manual"
    why = "Methods become static and take ctx; callers outside the class would break."
    invalid = LegacyFunction.invalid + "\n\nprint(Scale(2).forward)\n"


class InstanceEscapes(Rule):
    code = "AGM105"
    name = "instance-escapes"
    summary = (
        "An instance or the class travels (attribute, argument, return value, container, "
        "module level): rewrite its uses by hand."
    )
    message = "{what} of `{cls}` {how}: rewrite its uses as `{cls}.apply(inputs..., constructor args...)` by hand"
    applicability = "manual"
    why = (
        "The call site cannot be rewritten exactly when the instance (or the class) travels: "
        "stored on an attribute, passed, returned, kept at module level and called elsewhere. "
        "For a class with state (attributes it sets on `self`), AGM011 keeps the instance instead."
    )
    invalid = _LEGACY_NEG + "fns = [Neg()]\n"


class Unsupported(Rule):
    code = "AGM106"
    name = "unsupported-shape"
    summary = "Another shape with no exact rewrite (the message gives the reason); the class is left untouched."
    message = "cannot migrate `{cls}` safely: {reason}"
    applicability = "manual"
    why = "A shape the tool cannot rewrite exactly; the class is left untouched rather than guessed."
    invalid = LegacyFunction.invalid.replace("return x * self.k", "return x * self.k * self.unknown")


class VariableValue(Rule):
    code = "AGM107"
    name = "variable-value"
    summary = "`Variable` used as a type or value: use `torch.Tensor` or remove it by hand."
    message = "`Variable` used as {what}: use `torch.Tensor` (or remove it) by hand"
    applicability = "manual"
    why = "Every tensor is a Variable now; type checks and other non-call uses need a human decision."
    invalid = "import torch\nfrom torch.autograd import Variable\n\nok = issubclass(torch.Tensor, Variable)\n"


RULES: dict[str, type[Rule]] = {
    r.code: r
    for r in (
        LegacyFunction,
        LegacyCall,
        InstanceApply,
        SavedVariables,
        VariableWrapper,
        VariableImport,
        MarkSharedStorage,
        VariableType,
        HeldInstance,
        ModuleInstance,
        StatefulInstance,
        CtorVarargs,
        InstanceReused,
        SelfIntrospection,
        MethodOutside,
        InstanceEscapes,
        Unsupported,
        VariableValue,
    )
}


@dataclass(frozen=True, order=True)
class Finding:
    line: int
    column: int
    code: str
    message: str
    fixable: bool  # this run's fix covers it (and --fix applies it)
    applicability: str = "safe"  # the level of its fix: "safe", "unsafe", or "manual" (none)

    @staticmethod
    def of(
        rule: type[Rule],
        pos: tuple[int, int],
        *,
        fixable: bool | None = None,
        applicability: str | None = None,
        **kw: object,
    ) -> Finding:
        """By default the rule's level; a fix this run does not make is manual unless told otherwise."""
        if fixable is None:
            fixable = rule.applicability == "safe"
        if applicability is None:
            applicability = rule.applicability if fixable or rule.applicability == "unsafe" else "manual"
        return Finding(pos[0], pos[1], rule.code, rule.format(**kw), fixable, applicability)

    def but(self, *, fixable: bool, applicability: str | None = None) -> Finding:
        if applicability is None:
            applicability = self.applicability if fixable else "manual"
        return replace(self, fixable=fixable, applicability=applicability)


_FIX_TEXT = {
    "safe": "safe, applied by --fix.",
    "unsafe": "unsafe, applied by --fix only with --unsafe-fixes (review the change).",
    "manual": "none; reported for manual work.",
}


def markdown_table() -> str:
    """The README's list of codes."""
    rows = ["| code | name | fix | what it finds, what to do |", "|---|---|---|---|"]
    for rule in RULES.values():
        rows.append(f"| {rule.code} | {rule.name} | {rule.applicability} | {rule.summary} |")
    return "\n".join(rows) + "\n"


def explain(code: str) -> str | None:
    """`autograd-migrate --explain CODE`: what the rule finds, why, an example and its fix."""
    rule = RULES.get(code.upper())
    if rule is None:
        return None
    parts = [
        f"{rule.code} ({rule.name}): {rule.summary}",
        "",
        rule.why,
        "",
        "Fix: " + _FIX_TEXT[rule.applicability],
        "",
        "Example:",
        "",
        rule.invalid,
    ]
    if rule.fixed:
        parts += ["Becomes:", "", rule.fixed]
    return "\n".join(parts)

"""Shapes found in real code and in review, each of which once produced a wrong rewrite."""

from __future__ import annotations

from pathlib import Path

from autograd_migrate.engine import process

HEAD = "import torch\nfrom torch.autograd import Function\n\n\n"

SCALE = (
    "class Scale(Function):\n"
    "    def __init__(self, k):\n"
    "        self.k = k\n\n"
    "    def forward(self, x):\n"
    "        return x * self.k\n\n"
    "    def backward(self, g):\n"
    "        return g * self.k\n\n\n"
)


def run(source: str):
    result = process(Path("case.py"), source.encode())
    assert result.error is None, result.error
    return result


def reasons(source: str) -> str:
    return "\n".join(f.message for f in run(source).findings if f.code == "AGM106")


def migrated(source: str) -> str:
    result = run(source)
    assert result.new is not None, [f.message for f in result.findings]
    return result.new.decode()


def test_a_class_name_bound_twice_is_left_alone() -> None:
    """With an import fallback the name may mean the extension's class: no call can be rewritten."""
    source = (
        HEAD
        + "try:\n    from fast_ext import Scale\nexcept ImportError:\n"
        + "".join("    " + line if line else line for line in SCALE.splitlines(keepends=True))
        + "y = Scale(3.0)(torch.ones(2))\n"
    )
    assert "bound more than once" in reasons(source)
    assert run(source).new is None


def test_inlining_waits_for_nothing_in_between() -> None:
    """`opts["k"]` may change between construction and call: only constants travel that far."""
    source = HEAD + SCALE + ("def f(x, opts):\n    s = Scale(opts['k'])\n    opts['k'] = 3.0\n    return s(x)\n")
    assert "may change before the instance is called" in reasons(source)
    adjacent = HEAD + SCALE + "def f(x, opts):\n    s = Scale(opts['k'])\n    return s(x)\n"
    assert "return Scale.apply(x, opts['k'])" in migrated(adjacent)
    constant = HEAD + SCALE + "def f(x):\n    s = Scale(2.0)\n    x = x + 1\n    return s(x)\n"
    assert "return Scale.apply(x, 2.0)" in migrated(constant)


def test_inlining_refuses_a_call_after_other_work_in_the_same_statement() -> None:
    source = HEAD + SCALE + "def f(x, opts):\n    s = Scale(draw(opts))\n    return draw(opts) - s(x)\n"
    assert "may change before the instance is called" in reasons(source)


def test_half_migrated_class_with_constructor_state_is_refused() -> None:
    source = HEAD + (
        "class Half(Function):\n"
        "    def __init__(self, k):\n        self.k = k\n\n"
        "    @staticmethod\n    def forward(ctx, x):\n        return x * 2\n\n"
        "    def backward(self, g):\n        return g * self.k\n"
    )
    assert "half migrated" in reasons(source)


def test_variable_keeps_the_shims_detach_unless_there_is_no_history() -> None:
    source = (
        "import torch\nfrom torch.autograd import Variable\n\n\n"
        "def f(t):\n    return Variable(t), Variable(torch.ones(2) * 2), Variable(t.data.double())\n"
    )
    assert "return t.detach(), torch.ones(2) * 2, t.data.double()" in migrated(source)


def test_a_class_calling_itself_legacy_style_is_rewritten_inside_too() -> None:
    source = HEAD + SCALE.replace("return g * self.k", "return Scale(self.k)(g)")
    out = migrated(source)
    assert "return Scale.apply(g, ctx.k), None" in out


def test_function_valued_class_attribute_called_through_self_is_refused() -> None:
    source = HEAD + (
        "def act(self_, x):\n    return x\n\n\n"
        "class Act(Function):\n    fn = act\n\n"
        "    def forward(self, x):\n        return self.fn(x)\n\n"
        "    def backward(self, g):\n        return g\n"
    )
    assert "calls the class attribute `fn` through self" in reasons(source)


def test_a_local_shadowing_the_class_name_is_refused() -> None:
    source = HEAD + (
        "class Pick(Function):\n    K = 2\n\n"
        "    def forward(self, x):\n        Pick = 3\n        return x * self.K * Pick\n\n"
        "    def backward(self, g):\n        return g\n"
    )
    assert "has a local named `Pick`" in reasons(source)


def test_variable_listed_in_all_keeps_its_import() -> None:
    source = (
        "import torch\nfrom torch.autograd import Variable\n\n__all__ = ['Variable', 'f']\n\n\n"
        "def f():\n    return Variable(torch.ones(2))\n"
    )
    assert "from torch.autograd import Variable" in migrated(source)


def test_a_bare_generator_constructor_argument_gets_parentheses() -> None:
    source = (
        HEAD
        + SCALE.replace("return x * self.k", "return x * sum(self.k)")
        + ("y = Scale(v for v in (1.0, 2.0))(torch.ones(2))\n")
    )
    assert "Scale.apply(torch.ones(2), (v for v in (1.0, 2.0)))" in migrated(source)


def test_tuple_valued_backward_returns_are_spread_and_ambiguous_ones_refused() -> None:
    cat = HEAD + (
        "class Cat(Function):\n"
        "    def __init__(self, dim):\n        self.dim = dim\n\n"
        "    def forward(self, a, b):\n        self.n = a.size(self.dim)\n"
        "        return torch.cat([a, b], self.dim)\n\n"
        "    def backward(self, g):\n        return tuple(g.split([self.n, g.size(self.dim) - self.n], self.dim))\n"
    )
    assert "return (*tuple(g.split([ctx.n, g.size(ctx.dim) - ctx.n], ctx.dim)), None)" in migrated(cat)
    helper = cat.replace("return tuple(g.split(", "return self.halves(g.split(").replace(
        "class Cat(Function):\n", "class Cat(Function):\n    def halves(self, parts):\n        return parts\n\n"
    )
    assert "may be one gradient or a tuple" in reasons(helper)


WARMUP = (
    "class Warmup(Function):\n"
    "    def __init__(self):\n        self.n = 0\n\n"
    "    def forward(self, x):\n        self.n += 1\n        return x.clone()\n\n"
    "    def backward(self, g):\n        return g * min(1.0, self.n / 100)\n"
)


def test_state_accumulated_across_calls_is_kept_on_the_instance_only_as_an_unsafe_fix() -> None:
    """The class becomes the state (AGM011); refused where the split would break a use."""
    result = run(HEAD + WARMUP)
    assert result.new is None and {f.code for f in result.findings} == {"AGM001", "AGM011"}
    new = process(Path("case.py"), (HEAD + WARMUP).encode(), unsafe=True).new.decode()
    assert (
        "class Warmup:\n" in new
        and "    def __call__(self, x):\n        return Warmup.Function.apply(x, self)\n" in new
    )
    for use in [
        "y = Warmup.apply(torch.ones(1))\n",
        "y = Warmup().forward(torch.ones(1))\n",
        "class Later(Warmup):\n    pass\n",
    ]:
        refused = process(Path("case.py"), (HEAD + WARMUP + "\n\n" + use).encode(), unsafe=True)
        assert refused.new is None and "AGM011" not in {f.code for f in refused.findings}, use
        assert any("updates `self.n`, which the constructor set" in f.message for f in refused.findings)


def test_evaluation_order_matters_only_when_both_sides_do_work() -> None:
    """`Fn(a)(x)` ran `a` and `__init__` before `x`; `Fn.apply(x, a)` runs `x` first."""
    common = HEAD + SCALE + "def f(net, x, lambd):\n    return Scale(lambd)(net(x))\n"
    assert "return Scale.apply(net(x), lambd)" in migrated(common)
    both = HEAD + SCALE + "def f(net, x, opts):\n    return Scale(opts.pop())(net(x))\n"
    assert "computed after the constructor arguments" in reasons(both)
    noisy = (
        HEAD
        + SCALE.replace("self.k = k", "self.k = k * torch.rand(1)")
        + ("def f(x):\n    return Scale(2.0)(torch.randn(3))\n")
    )
    assert "random draws" in reasons(noisy)


def test_explicit_base_calls_need_a_base_without_constructor_arguments() -> None:
    """`Scale.forward(self, x)` would now miss `k`, which moved to Scale's forward."""
    source = (
        HEAD
        + SCALE
        + (
            "class Twice(Scale):\n"
            "    def forward(self, x):\n"
            "        return Scale.forward(self, x) * 2\n\n"
            "    def backward(self, g):\n"
            "        return Scale.backward(self, g) * 2\n"
        )
    )
    assert "calls `Scale`'s method directly while constructor arguments move to forward" in reasons(source)
    assert run(source).new is None


def test_self_passed_to_a_method_of_an_unrelated_class_stays_manual() -> None:
    source = HEAD + (
        "class Neg(Function):\n"
        "    def forward(self, x):\n        return -x\n\n"
        "    def backward(self, g):\n        return -g\n\n\n"
        "class Other(Function):\n"
        "    def forward(self, x):\n        return Neg.forward(self, x)\n\n"
        "    def backward(self, g):\n        return -g\n"
    )
    result = run(source)
    assert result.new is None
    assert {"AGM103", "AGM104"} <= {f.code for f in result.findings}


def test_comments_of_a_deleted_instance_line_survive() -> None:
    """The comment above `f = Scale(k)` and the one beside it stay, above the rewritten call."""
    source = HEAD + SCALE + "def f(x):\n    # make the op\n    s = Scale(2.0)  # doubles\n    return s(x)  # apply\n"
    assert migrated(source).endswith(
        "def f(x):\n    # make the op\n    # doubles\n    return Scale.apply(x, 2.0)  # apply\n"
    )


def test_varargs_only_passed_on_to_the_base_constructor_are_dropped() -> None:
    """`__init__(self, lambd, *args, **kwargs)` handing them to `super().__init__`: Function's
    constructor takes none, so only `lambd` moves; a caller passing more stays manual."""
    cls = (
        "class Rev(Function):\n"
        "    def __init__(self, lambd, *args, **kwargs):\n"
        "        super(Rev, self).__init__(*args, **kwargs)\n"
        "        self.lambd = lambd\n\n"
        "    def forward(self, x):\n"
        "        return x.view_as(x)\n\n"
        "    def backward(self, g):\n"
        "        return -g * self.lambd\n\n\n"
    )
    new = migrated(HEAD + cls + "def f(x):\n    return Rev(0.5)(x)\n")
    assert "    def forward(ctx, x, lambd):\n        ctx.lambd = lambd\n" in new
    assert "args" not in new and "return Rev.apply(x, 0.5)\n" in new
    assert "do not match its parameters" in reasons(HEAD + cls + "def f(x):\n    return Rev(0.5, 2)(x)\n")
    used = cls.replace("        self.lambd = lambd\n", "        self.lambd = lambd\n        self.rest = args\n")
    assert run(HEAD + used + "def f(x):\n    return Rev(0.5)(x)\n").new is None  # `args` is used: AGM101


def test_a_split_class_may_not_call_function_init_by_name() -> None:
    """`Function.__init__(self)` in the constructor: the plain class it would become has no
    such base, so the state split is refused."""
    named = WARMUP.replace("        self.n = 0\n", "        Function.__init__(self)\n        self.n = 0\n")
    result = process(Path("case.py"), (HEAD + named).encode(), unsafe=True)
    assert result.new is None and "AGM011" not in {f.code for f in result.findings}
    supered = WARMUP.replace("        self.n = 0\n", "        super().__init__()\n        self.n = 0\n")
    assert "class Warmup:\n" in process(Path("case.py"), (HEAD + supered).encode(), unsafe=True).new.decode()

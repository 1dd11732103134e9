"""Fix safety levels: unsafe fixes (AGM009, instances held by a class) only with --unsafe-fixes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cli
from samples import GRAD_REVERSE

from autograd_migrate.engine import process

OPS = """\
import torch
from torch.autograd import Function


class GradReverse(Function):
    def __init__(self, lambd=1.0):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return x.view_as(x)

    def backward(self, g):
        return -self.lambd * g


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, g):
        return -g
"""

MODEL = """\
import torch
from pkg.ops import GradReverse, Neg


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.grl = GradReverse(0.5)
        self.neg = Neg()

    def forward(self, x):
        return self.neg(self.grl(x))


def other(x):
    return GradReverse()(x)
"""

MODEL_FIXED = """\
import torch
from pkg.ops import GradReverse, Neg


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.grl = (0.5,)

    def forward(self, x):
        return Neg.apply(GradReverse.apply(x, *self.grl))


def other(x):
    return GradReverse.apply(x)
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "ops.py").write_text(OPS)
    (tmp_path / "pkg" / "model.py").write_text(MODEL)
    return tmp_path


def test_without_the_flag_nothing_is_written_and_every_finding_says_unsafe(tree: Path) -> None:
    """The classes wait for the held instances in another file: no half migration, and the
    report says that --unsafe-fixes would do it all."""
    proc = cli("pkg", "--fix", "--output-format", "json", cwd=tree)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["changed_files"] == []
    assert (tree / "pkg" / "ops.py").read_text() == OPS and (tree / "pkg" / "model.py").read_text() == MODEL
    assert {(f["code"], f["applicability"], f["fixable"]) for f in doc["findings"]} == {
        ("AGM001", "unsafe", False),
        ("AGM002", "unsafe", False),
        ("AGM009", "unsafe", False),
        ("AGM106", "unsafe", False),
    }
    text = cli("pkg", cwd=tree)
    assert "Found 7 findings (0 fixable with --fix, 7 more with --unsafe-fixes, 0 manual)." in text.stderr
    assert "its call site at pkg/model.py:8 is an unsafe fix (AGM009)" in text.stdout


def test_with_the_flag_the_tree_migrates_and_runs(tree: Path) -> None:
    proc = cli("pkg", "--fix", "--unsafe-fixes", "--output-format", "json", cwd=tree)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert {f["applicability"] for f in doc["findings"]} == {"unsafe"}
    assert all(f["fixed"] for f in doc["findings"])
    assert (tree / "pkg" / "model.py").read_text() == MODEL_FIXED
    run = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-c",
            "import torch; from pkg.model import Net, other\n"
            "x = torch.ones(2, requires_grad=True)\n"
            "Net()(x).sum().backward(); other(x).sum().backward(); print(x.grad.tolist())",
        ],
        capture_output=True,
        text=True,
        cwd=tree,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[-0.5, -0.5]"  # -(-0.5) from Net, -1 from other
    again = cli("pkg", "--unsafe-fixes", cwd=tree)
    assert again.returncode == 0 and "All checks passed!" in again.stderr


def test_diff_shows_the_unsafe_fix_only_when_asked(tree: Path) -> None:
    assert cli("pkg", "--diff", cwd=tree).returncode == 0
    proc = cli("pkg", "--diff", "--unsafe-fixes", cwd=tree)
    assert proc.returncode == 1 and "+        self.grl = (0.5,)" in proc.stdout


HOLDER = GRAD_REVERSE.replace("y = GradReverse(0.5)(torch.ones(2))\n", "") + (
    "\n\nclass Net(torch.nn.Module):\n"
    "    def __init__(self, lambd):\n"
    "        super().__init__()\n"
    "        self.grl = GradReverse(lambd)\n\n"
    "    def forward(self, x):\n"
    "        return self.grl(x)\n"
)


@pytest.mark.parametrize(
    "change",
    [("", "\n\nnet = Net(0.5)\nnet.grl.lambd = 0.1\n"), ("return self.grl(x)", "return self.grl")],
    ids=["mutated-elsewhere", "read"],
)
def test_held_instances_used_as_objects_keep_their_class_as_the_state(change: tuple[str, str]) -> None:
    """`net.grl.lambd = 0.1`, `return self.grl`: the instance is an object with state, which
    AGM011 keeps (the class becomes that object; its sites stay)."""
    old, new = change
    source = HOLDER + new if not old else HOLDER.replace(old, new)
    result = process(Path("held.py"), source.encode(), unsafe=True)
    assert result.error is None and "class GradReverse:\n" in result.new.decode()
    assert "self.grl = GradReverse(lambd)\n" in result.new.decode()
    assert {f.code for f in result.findings if f.fixable} == {"AGM001", "AGM011"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("self.lambd = lambd", "self.lambd = lambd * torch.rand(1)"), "draws random numbers"),
        (("return self.grl(x)", "GradReverse = None\n        return self.grl(x)"), "is a local name"),
        (("def forward(self, x):", "@staticmethod\n    def forward(self, x):"), "is used other than called"),
    ],
    ids=["random-init", "shadowed", "static-holder-method"],
)
def test_held_instances_that_cannot_be_rewritten_stay_manual(change: tuple[str, str], reason: str) -> None:
    old, new = change
    source = HOLDER + new if not old else HOLDER.replace(old, new)
    result = process(Path("held.py"), source.encode(), unsafe=True)
    assert result.error is None and result.new is None
    assert any(reason in f.message for f in result.findings), result.findings
    assert all(f.applicability == "manual" for f in result.findings)


def test_held_instance_without_arguments_and_another_first_parameter() -> None:
    source = (
        "import torch\nfrom torch.autograd import Function\n\n\n"
        "class Neg(Function):\n"
        "    def forward(self, x):\n        return -x\n\n"
        "    def backward(self, g):\n        return -g\n\n\n"
        "class Net(torch.nn.Module):\n"
        "    def __init__(this):\n        super().__init__()\n        this.neg = Neg()  # note\n"
        "        this.k = 2\n\n"
        "    def forward(me, x, y):\n        return me.neg(x) + me.neg(y)\n"
    )
    result = process(Path("held.py"), source.encode(), unsafe=True)
    new = result.new.decode()
    assert "this.neg" not in new and "        this.k = 2\n" in new
    assert "return Neg.apply(x) + Neg.apply(y)\n" in new
    assert process(Path("held.py"), source.encode()).new is None


MODULE_OPS = OPS + "\n\n# one instance for the whole package\ngrl = GradReverse(0.5)  # shared\n"


def test_a_module_level_instance_becomes_a_function_that_its_importers_still_call(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "ops.py").write_text(MODULE_OPS)
    (tmp_path / "pkg" / "net.py").write_text("from pkg.ops import grl\n\n\ndef head(x):\n    return grl(x) * 2\n")
    plain = cli("pkg", "--diff", "--output-format", "json", cwd=tmp_path)
    assert "GradReverse" not in json.loads(plain.stdout)["diff"]  # only Neg migrates without the flag
    assert {f["applicability"] for f in json.loads(plain.stdout)["findings"] if f["code"] == "AGM010"} == {"unsafe"}
    proc = cli("pkg", "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ops = (tmp_path / "pkg" / "ops.py").read_text()
    assert ops.endswith(
        "\n\n# one instance for the whole package\ndef grl(x):  # shared\n    return GradReverse.apply(x, 0.5)\n"
    )
    run = subprocess.run(
        [sys.executable, "-W", "error", "-c",
         "import torch; from pkg.net import head\nx = torch.ones(2, requires_grad=True)\n"
         "head(x).sum().backward(); print(x.grad.tolist())"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[-1.0, -1.0]"
    assert cli("pkg", "--unsafe-fixes", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("init", "user", "imported"),
    [
        ("", "from pkg.ops import grl", True),
        ("from .ops import grl  # re-exported\n", "from pkg import grl", True),
        ("", "from pkg.other import grl", False),
    ],
)
def test_a_module_level_instance_called_once_stays_where_another_module_imports_it(
    tmp_path: Path, init: str, user: str, imported: bool
) -> None:
    """Inlining the one call of `grl = GradReverse(0.5)` would delete `grl`; when another file
    of the run imports it, `grl` stays, as a function (an unsafe fix)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text(init)
    (tmp_path / "pkg" / "ops.py").write_text(OPS + "\n\ngrl = GradReverse(0.5)\ny0 = grl(torch.ones(2))\n")
    (tmp_path / "pkg" / "net.py").write_text(user + "\n\n\ndef head(x):\n    return grl(x) * 2\n")
    assert cli("pkg", "--fix", cwd=tmp_path).returncode == (1 if imported else 0)
    ops = (tmp_path / "pkg" / "ops.py").read_text()
    if not imported:  # a safe fix: the instance goes
        assert ops.endswith("\n\ny0 = GradReverse.apply(torch.ones(2), 0.5)\n")
        return
    assert "grl = GradReverse(0.5)\n" in ops  # only Neg migrated
    assert cli("pkg", "--fix", "--unsafe-fixes", cwd=tmp_path).returncode == 0
    ops = (tmp_path / "pkg" / "ops.py").read_text()
    assert ops.endswith("\n\ndef grl(x):\n    return GradReverse.apply(x, 0.5)\ny0 = grl(torch.ones(2))\n")
    run = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import torch; from pkg.net import head; print(head(torch.ones(1)))"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("\nk = 0.5\nscaled = GradReverse(k)\n", "built from values that are not constants"),
    ],
)
def test_module_level_instances_that_stay_manual(extra: str, reason: str) -> None:
    result = process(Path("ops.py"), (OPS + extra).encode(), unsafe=True)
    assert b"def __init__(self, lambd=1.0)" in result.new  # GradReverse stays; Neg migrates
    assert any(reason in f.message for f in result.findings), result.findings


STATEFUL = """\
import torch


class AdversarialLayer(torch.autograd.Function):
    def __init__(self, high=1.0):
        self.iter_num = 0
        self.high = high

    def forward(self, input):
        self.iter_num += 1
        return input * 1.0

    def backward(self, grad_output):
        return -grad_output * self.high * self.iter_num
"""


def test_an_instance_keeping_state_across_modules_migrates_as_its_own_state(tmp_path: Path) -> None:
    """thuml's gradient-reversal layer: built in the training script, passed to a loss function
    in another module, called on every step; backward reads the count of calls so far."""
    (tmp_path / "net.py").write_text(STATEFUL)
    (tmp_path / "loss.py").write_text("def transfer(features, grl):\n    return grl(features).sum()\n")
    (tmp_path / "train.py").write_text(
        "import torch\nimport net\nfrom loss import transfer\n\n"
        "grl = net.AdversarialLayer(high=0.5)\nx = torch.ones(2, requires_grad=True)\n"
        "for _ in range(3):\n    transfer(x, grl).backward()\n"
        "print(grl.iter_num, x.grad.tolist())\n"
    )
    plain = cli(".", "--fix", cwd=tmp_path)
    assert plain.returncode == 1 and "AGM011" in plain.stdout
    assert "class AdversarialLayer(torch.autograd.Function)" in (tmp_path / "net.py").read_text()
    assert cli(".", "--fix", "--unsafe-fixes", cwd=tmp_path).returncode == 0
    assert (tmp_path / "loss.py").read_text() == "def transfer(features, grl):\n    return grl(features).sum()\n"
    run = subprocess.run(
        [sys.executable, "-W", "error", "train.py"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "3 [-3.0, -3.0]"  # -0.5 * (1 + 2 + 3), as legacy torch computed it
    assert cli(".", "--unsafe-fixes", cwd=tmp_path).returncode == 0


def test_a_use_in_another_module_that_the_split_would_break_keeps_the_class(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text(STATEFUL)
    (tmp_path / "use.py").write_text("from net import AdversarialLayer\n\ny = AdversarialLayer.apply\n")
    proc = cli(".", "--fix", "--unsafe-fixes", "--output-format", "json", cwd=tmp_path)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert not doc["changed_files"]
    assert any("its call site at use.py:3 cannot be rewritten" in f["message"] for f in doc["findings"])


def test_an_instance_returned_and_read_in_another_module_is_kept_with_its_class(tmp_path: Path) -> None:
    """A solver step whose instance is returned and read after the call (`step.last`), with a
    helper reading `self` as a value and a `Variable` inside: the class becomes the state, the
    Variable goes, and a second run changes nothing."""
    (tmp_path / "step.py").write_text(
        "import torch\nfrom torch.autograd import Function, Variable\n\n\n"
        "class Step(Function):\n"
        "    def __init__(self, k):\n        self.k = k\n\n"
        "    def gain(self):\n        return getattr(self, 'k')\n\n"
        "    def forward(self, x):\n        self.last = Variable(x * self.gain())\n        return x * self.k\n\n"
        "    def backward(self, g):\n        return g * self.k\n"
    )
    (tmp_path / "solve.py").write_text(
        "import torch\nfrom step import Step\n\n\ndef solve(x):\n    s = Step(3.0)\n    return s(x), s\n\n\n"
        "x = torch.ones(2, requires_grad=True)\ny, s = solve(x)\ny.sum().backward()\n"
        "print(s.last.tolist(), x.grad.tolist())\n"
    )
    assert cli(".", "--fix", "--unsafe-fixes", cwd=tmp_path).returncode == 0
    assert "Variable" not in (tmp_path / "step.py").read_text()
    assert cli(".", "--unsafe-fixes", cwd=tmp_path).returncode == 0  # a fixed point
    run = subprocess.run(
        [sys.executable, "-W", "error", "solve.py"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[3.0, 3.0] [3.0, 3.0]"

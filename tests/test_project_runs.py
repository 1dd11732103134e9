"""A tree migrated as one unit: call sites in other modules, re-exports, blocking across files."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import cli

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fixtures" / "package"


def tree_files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.fixture
def package(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE / "before", tmp_path / "tree")
    return tmp_path / "tree"


def test_package_migrates_as_a_whole(package: Path) -> None:
    """Definitions and call sites through aliases, relative imports, module aliases and a
    re-export in `__init__.py` all move together; the result is exactly the after tree."""
    proc = cli(".", "--fix", cwd=package)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for rel in tree_files(PACKAGE / "after"):
        assert filecmp.cmp(package / rel, PACKAGE / "after" / rel, shallow=False), rel
    assert cli(".", cwd=package).returncode == 0  # a fixed point


def test_migrated_package_runs_end_to_end(package: Path) -> None:
    pytest.importorskip("torch")
    shutil.rmtree(package)
    shutil.copytree(PACKAGE / "after", package)
    env = {**os.environ, "PYTHONPATH": str(package)}
    proc = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "train.py"],
        cwd=package,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr


def test_package_verifies_equivalent(package: Path) -> None:
    pytest.importorskip("torch")
    proc = cli(".", "--diff", "--verify", "--output-format", "json", cwd=package)
    statuses = {v["class"]: v["status"] for v in json.loads(proc.stdout)["verifications"]}
    # HardClamp and PlainClamp run with their migrated base from another module
    assert statuses == dict.fromkeys(["GradReverse", "Scale", "SoftClamp", "HardClamp", "PlainClamp"], "equivalent")


def test_a_call_site_elsewhere_that_cannot_be_rewritten_blocks_the_class(package: Path) -> None:
    (package / "reuse.py").write_text(  # SoftClamp has subclasses: no AGM011 split either
        "import torch\n\nfrom shop.ops.clamp import SoftClamp\n\n\ndef twice():\n"
        "    f = SoftClamp(2.0)\n    return f(torch.ones(2)) + f(torch.ones(2))\n"
    )
    proc = cli(".", "--diff", "--output-format", "json", cwd=package)
    doc = json.loads(proc.stdout)
    codes = {(Path(f["path"]).name, f["code"]) for f in doc["findings"] if not f["fixable"]}
    assert ("reuse.py", "AGM102") in codes and ("clamp.py", "AGM106") in codes
    assert "its call site at reuse.py:8 cannot be rewritten (AGM102)" in proc.stdout
    assert "SoftClamp.apply" not in doc["diff"]  # not at the definition, not at any call site
    assert "GradReverse.apply" in doc["diff"]  # the other class still migrates


def test_results_do_not_depend_on_jobs(package: Path) -> None:
    one = cli(".", "--diff", "-j", "1", "--output-format", "json", cwd=package).stdout
    two = cli(".", "--diff", "-j", "2", "--output-format", "json", cwd=package).stdout
    assert one == two and json.loads(one)["changed_files"]


def test_a_subclass_elsewhere_that_overrides_a_dispatched_method_blocks_the_family(package: Path) -> None:
    """`self.inside(x)` in the base dispatched to the subclass's override: no static call can do
    that, so the base, and with it every subclass in every module, stays as it is."""
    variants = package / "shop" / "ops" / "variants.py"
    variants.write_text(
        variants.read_text() + "\n\nclass WideClamp(SoftClamp):\n    def inside(self, x):\n        return x * 0 + 1\n"
    )
    proc = cli(".", "--diff", "--output-format", "json", cwd=package)
    doc = json.loads(proc.stdout)
    assert "subclass `shop.ops.variants.WideClamp` overrides `inside`" in proc.stdout
    assert "related class `shop.ops.clamp.SoftClamp` cannot be migrated" in proc.stdout
    assert "Clamp.apply" not in doc["diff"] and "clamp.py" not in doc["diff"]
    assert "HardClamp.apply" not in doc["diff"]  # its call site stays legacy with its class
    assert "GradReverse.apply" in doc["diff"]


@pytest.mark.parametrize("given", [["shop/models"], ["train.py"], ["train.py", "shop/models/net.py"]])
def test_a_subdirectory_run_rewrites_its_call_sites_of_classes_defined_elsewhere(package: Path, given) -> None:
    """The definitions outside the paths are read (through re-exports and relative imports),
    never written and never reported; the call sites in the paths use their plans, and say
    where the class is defined."""
    proc = cli(*given, "--fix", "--output-format", "json", cwd=package)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    written = {Path(p).as_posix() for p in doc["changed_files"]}
    expected = {"shop/models/net.py"} if given == ["shop/models"] else {Path(p).as_posix() for p in given}
    assert written == expected
    for rel in tree_files(package):
        after = PACKAGE / ("after" if rel.as_posix() in written else "before") / rel
        assert (package / rel).read_text() == after.read_text(), rel
    outside = [f for f in doc["findings"] if "is defined outside the paths of this run" in f["message"]]
    assert outside and all(f["code"] == "AGM002" for f in outside)
    assert "in shop/ops/reverse.py: migrate it too" in outside[0]["message"]
    assert not any("ops" in f["path"] for f in doc["findings"])


def test_worker_processes_give_the_same_result(tmp_path: Path) -> None:
    """Enough files that `-j 2` analyses them in worker processes, which keep their parses
    across the rounds: the output is the one of a single process."""
    pkg = tmp_path / "big"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for i in range(12):
        (pkg / f"ops{i}.py").write_text(
            "import torch\nfrom torch.autograd import Function\n\n\n"
            f"class Neg{i}(Function):\n"
            "    def __init__(self, k=1.0):\n        super().__init__()\n        self.k = k\n\n"
            "    def forward(self, x):\n        return -x * self.k\n\n"
            "    def backward(self, g):\n        return -g * self.k\n"
        )
        reuse = f"f = Neg{i}()\n    f(x)\n    return f(x)" if i == 3 else f"return Neg{i}({i})(x)"
        (pkg / f"use{i}.py").write_text(f"from big.ops{i} import Neg{i}\n\n\ndef run(x):\n    {reuse}\n")
    one = cli(".", "--diff", "-j", "1", "--output-format", "json", cwd=tmp_path).stdout
    two = cli(".", "--diff", "-j", "2", "--output-format", "json", cwd=tmp_path).stdout
    assert one == two
    doc = json.loads(one)
    assert len(doc["changed_files"]) == 22  # all but the reused class and its call site
    # the class with state reused in another module keeps its instance with --unsafe-fixes only
    assert any(f["code"] == "AGM011" and f["path"].endswith("ops3.py") for f in doc["findings"])


def test_modules_of_the_same_name_under_two_roots_are_kept_apart(tmp_path: Path) -> None:
    """Two copies of the package (here: before and after) and two example scripts that each
    import their own `model`: every import means the module of its own root."""
    shutil.copytree(PACKAGE, tmp_path / "package")
    for name, body in (("a", "return x * self.k"), ("b", "return x + self.k")):
        example = tmp_path / "examples" / name
        example.mkdir(parents=True)
        (example / "model.py").write_text(
            "import torch\nfrom torch.autograd import Function\n\n\n"
            "class Op(Function):\n"
            + ("    def __init__(self, k):\n        super().__init__()\n        self.k = k\n\n" if name == "a" else "")
            + f"    def forward(self, x):\n        self.k = 1.0\n        {body}\n\n"
            "    def backward(self, g):\n        return g\n"
        )
        (example / "run.py").write_text(
            "from model import Op\n\n\ndef go(x):\n    return " + ("Op(2.0)(x)" if name == "a" else "Op()(x)") + "\n"
        )
    proc = cli(".", "--diff", "--output-format", "json", cwd=tmp_path)
    doc = json.loads(proc.stdout)
    assert doc["errors"] == [] and "::" not in proc.stdout
    changed = {Path(p).as_posix() for p in doc["changed_files"]}
    assert not any(p.startswith("package/after") for p in changed)  # modern already: nothing to do
    assert {p for p in changed if p.startswith("package/")} == {
        f"package/before/{rel.as_posix()}"
        for rel in tree_files(PACKAGE / "before")
        if (PACKAGE / "before" / rel).read_text() != (PACKAGE / "after" / rel).read_text()
    }
    assert "+    return Op.apply(x, 2.0)" in doc["diff"] and "+    return Op.apply(x)" in doc["diff"]


def test_a_subdirectory_run_warns_about_call_sites_outside_its_paths(package: Path) -> None:
    """Running on the definitions alone migrates them; the files outside that name them are
    listed, since their call sites are not rewritten."""
    proc = cli("shop/ops", "--fix", cwd=package)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert (
        "warning: files outside the paths of this run name `PlainClamp`, which it migrates (train.py): "
        "call sites there are not rewritten; run on the whole tree"
    ) in warnings
    assert len(warnings) == 4  # GradReverse, HardClamp, PlainClamp, Scale; not SoftClamp
    assert (package / "train.py").read_text() == (PACKAGE / "before" / "train.py").read_text()
    assert "warning" not in cli(".", "--diff", cwd=package).stderr


def test_an_imported_class_name_shadowed_by_a_parameter_keeps_that_call(tmp_path: Path) -> None:
    """Only the uses that mean the import are its call sites (a parameter of the same name
    is another variable)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "ops.py").write_text(
        "import torch\nfrom torch.autograd import Function\n\n\n"
        "class Neg(Function):\n"
        "    def forward(self, x):\n        return -x\n\n"
        "    def backward(self, g):\n        return -g\n"
    )
    (tmp_path / "use.py").write_text(
        "from pkg.ops import Neg\n\n\n"
        "def shadowed(x, Neg=None):\n    return Neg()(x)\n\n\n"
        "def plain(x):\n    return Neg()(x)\n"
    )
    proc = cli(".", "--diff", cwd=tmp_path)
    assert "-    return Neg()(x)\n+    return Neg.apply(x)\n" in proc.stdout
    assert proc.stdout.count("Neg.apply") == 1


STAR_OPS = (
    "import torch\nfrom torch.autograd import Function\n\n\n"
    "class Neg(Function):\n"
    "    def forward(self, x):\n        return -x\n\n"
    "    def backward(self, g):\n        return -g\n"
)


@pytest.mark.parametrize(
    ("init", "use"),
    [
        ("", "from pkg.ops import *\n"),  # star import at the call site
        ("from .ops import *\n", "from pkg import Neg\n"),  # star re-export in the package
        ("from .ops import *\n", "from pkg import *\n"),  # both
    ],
    ids=["star-import", "star-re-export", "star-of-star"],
)
def test_star_imports_reach_their_call_sites(tmp_path: Path, init: str, use: str) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text(init)
    (tmp_path / "pkg" / "ops.py").write_text(STAR_OPS)
    (tmp_path / "use.py").write_text(use + "\n\ndef go(x):\n    return Neg()(x)\n")
    proc = cli(".", "--fix", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "use.py").read_text().endswith("    return Neg.apply(x)\n")
    assert "@staticmethod" in (tmp_path / "pkg" / "ops.py").read_text()


def test_a_star_imported_name_bound_again_blocks_the_class(tmp_path: Path) -> None:
    """Scopes cannot tell which binding a use of a star-imported name means."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "ops.py").write_text(STAR_OPS)
    (tmp_path / "use.py").write_text(
        "from pkg.ops import *\n\ntry:\n    from fast import Neg\nexcept ImportError:\n    pass\n\n\n"
        "def go(x):\n    return Neg()(x)\n"
    )
    proc = cli(".", "--diff", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == ""
    assert "its imported name is bound more than once in this module" in proc.stderr


OPS = (
    "import torch\nfrom torch.autograd import Function\n\n\n"
    "class Scale(Function):\n    def __init__(self, k):\n        super().__init__()\n        self.k = k\n\n"
    "    def forward(self, x):\n        return x * self.k\n\n"
    "    def backward(self, g):\n        return g * self.k\n"
)
USE = "import torch\n\nfrom pkg.ops import Scale\n\n\ndef run(x):\n    return Scale(2.0)(x)\n"


def _analysed(source: str, module: str, index):
    """The analysis of `source` as `module` of package `pkg`, and the index answers it used."""
    from autograd_migrate.analyse import ModuleContext, Place, analyse
    from autograd_migrate.index import Recorded
    from autograd_migrate.source import parse

    recorded = Recorded(index)
    ctx = ModuleContext(*parse(Path(f"{module}.py"), source.encode()), package="pkg")
    return analyse(ctx, Place(module, "pkg", recorded), False), recorded.answers


def test_an_analysis_is_kept_across_rounds_only_while_the_index_answers_the_same() -> None:
    """A later round reuses a module's analysis when every question it asked of the index has
    the same answer; anything it asked about that changes makes it analyse again."""
    from autograd_migrate.index import ProjectIndex, answers_same

    index = ProjectIndex()
    first, asked = _analysed(OPS, "pkg.ops", index)  # the index pass: nothing is known yet
    (scale,) = first.summaries
    other = _analysed(OPS.replace("Scale", "Other"), "pkg.other", index)[0].summaries[0]
    index.classes = {s.qualified: s for s in (scale, other)}
    index.aliases = {"pkg.Other": "pkg.other.Other"}
    assert answers_same(index, asked)  # the definitions alone change nothing for pkg.ops
    index.blocked["pkg.ops.Scale"] = ("its call site at use.py:7 cannot be rewritten (AGM102)", "manual")
    assert not answers_same(index, asked)
    index.blocked.clear()
    index.unsafe.add("pkg.ops.Scale")
    assert not answers_same(index, asked)

    index.unsafe.clear()
    use, asked = _analysed(USE, "pkg.use", index)
    assert use.has_fixes and answers_same(index, asked)
    index.classes = {**index.classes, "pkg.ops.Scale": replace(scale, ctor=(("k", "1.0"),))}
    assert not answers_same(index, asked)  # the call site's plan depends on the signature
    index.classes = {s.qualified: s for s in (scale, other)}
    index.aliases = {}
    assert answers_same(index, asked)
    index.classes = {s.qualified: s for s in (other,)}
    assert not answers_same(index, asked)  # the class it calls is gone


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (b"y = R(2.0)(x)", True),
        (b"y = ops.R(x)", True),
        (b"from pkg.use import R\n", True),
        (b"RR = nn.ReLU()", False),  # a short alias does not let every file through
        (b"_R = 1", False),
        (b"y = Fn\xc3\xa9(x)", True),  # no boundary after a non-ASCII letter in a bytes pattern
        (b"y = Scales(x)", False),
    ],
)
def test_the_name_prefilter_looks_for_whole_identifiers(text: bytes, named: bool) -> None:
    from autograd_migrate.discover import mentions_any

    assert mentions_any(text, frozenset({"R", "Fné", "Scale"})) is named


def test_call_sites_reach_a_class_in_an_implicit_namespace_package(tmp_path: Path) -> None:
    """No `__init__.py` anywhere: `train.py`, run from `src/`, imports the class as
    `models.layers.loss.Scale`; the call site is rewritten with the definition."""
    layers = tmp_path / "src" / "models" / "layers"
    layers.mkdir(parents=True)
    (layers / "loss.py").write_text(OPS)
    (tmp_path / "src" / "train.py").write_text(
        "import torch\nfrom models.layers.loss import Scale\nimport models.layers.loss as L\n\n\n"
        "def run(x):\n    return Scale(2.0)(x) + L.Scale(3.0)(x)\n\n\n"
        "print(run(torch.ones(2, requires_grad=True)).sum().item())\n"
    )
    # every file is under src/; `src.` is a spelling no root gives, but one class ends it
    (tmp_path / "src" / "other.py").write_text("from src.models.layers.loss import Scale\n\ny = Scale(4.0)(1)\n")
    proc = cli(".", "--fix", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "return Scale.apply(x, 2.0) + L.Scale.apply(x, 3.0)\n" in (tmp_path / "src" / "train.py").read_text()
    assert "y = Scale.apply(1, 4.0)\n" in (tmp_path / "src" / "other.py").read_text()
    run = subprocess.run(
        [sys.executable, "-W", "error", "train.py"], cwd=tmp_path / "src", capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "10.0"


@pytest.mark.parametrize("copies", [1, 2])
def test_an_import_no_root_gives_reaches_the_one_class_whose_name_ends_it(tmp_path: Path, copies: int) -> None:
    """`from mypkg.functions.ops import Scale` where an install maps `mypkg` to `src/`: the one
    class `functions.ops.Scale` of the run is meant. With two such classes nothing is guessed."""
    for root in ["src", "vendor"][:copies]:
        (tmp_path / root / "functions").mkdir(parents=True)
        (tmp_path / root / "functions" / "__init__.py").write_text("")
        (tmp_path / root / "functions" / "ops.py").write_text(OPS)
    (tmp_path / "train.py").write_text(
        "import torch\nfrom mypkg.functions.ops import Scale\n\n\ndef run(x):\n    return Scale(2.0)(x)\n"
    )
    proc = cli(".", "--fix", cwd=tmp_path)
    rewritten = "return Scale.apply(x, 2.0)\n" in (tmp_path / "train.py").read_text()
    assert rewritten is (copies == 1)
    assert proc.returncode == copies - 1  # the guess it does not make is reported
    if copies == 2:
        assert "train.py:2:1: AGM106" in proc.stdout and "(under vendor)" in proc.stdout, proc.stdout

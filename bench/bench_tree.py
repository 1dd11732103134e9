#!/usr/bin/env python3
"""Measure a whole-tree run (issue 4) on a generated project.

The tree has N modules in packages: about 5% define or call legacy Functions (across
modules, through imports and re-exports), the rest is ordinary PyTorch code. For 500 and
2,000 modules it reports wall time and peak memory of `autograd-migrate --diff` (with -j 1
and -j 2), of `ruff check --select UP`, and of the floor for any LibCST tool: a process that
imports LibCST, reads the tree and parses the files that need parsing (the parse alone is
shown too). Targets: under 2x that floor, near-linear growth, both cores used.

Each figure is the best of five runs (the machines share their cores with others). The
package is byte-compiled first: these machines set PYTHONDONTWRITEBYTECODE, and an installed
tool would not recompile itself on every run.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

ORDINARY = '''import torch
import torch.nn as nn
import torch.nn.functional as F


class Block{i}(nn.Module):
    """An ordinary module: nothing to migrate here."""

    def __init__(self, width={w}):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)

    def forward(self, x):
        h = F.relu(self.fc(x))
        return self.norm(h + x)


def train_step_{i}(model, batch, optimizer):
    optimizer.zero_grad()
    loss = model(batch).pow(2).mean()
    loss.backward()
    optimizer.step()
    return loss.item()
'''

DEFINES = """import torch
from torch.autograd import Function, Variable


class Reverse{i}(Function):
    def __init__(self, lambd=1.0):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return x.view_as(x)

    def backward(self, grad_output):
        return -self.lambd * grad_output


class Scale{i}(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return x * 2

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        return grad_output * 2


def demo_{i}():
    x = Variable(torch.randn(3), requires_grad=True)
    return Reverse{i}(0.5)(Scale{i}()(x))
"""

CALLS = """import torch
import torch.nn as nn

from {pkg}.ops{j} import Reverse{j} as R
from {pkg} import Scale{j}


class Head{i}(nn.Module):
    def __init__(self, lambd):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return R(self.lambd)(Scale{j}()(x))
"""


def generate(root: Path, modules: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    tree = root / f"tree{modules}"
    legacy = max(2, modules // 20)
    per_package = 50
    defines = list(range(0, legacy, 2))
    for i in range(modules):
        pkg = f"pkg{i // per_package}"
        (tree / pkg).mkdir(parents=True, exist_ok=True)
        init = tree / pkg / "__init__.py"
        if not init.exists():
            init.write_text("")
        if i < legacy and i in defines:
            (tree / pkg / f"ops{i}.py").write_text(DEFINES.format(i=i))
            with init.open("a") as fh:
                fh.write(f"from .ops{i} import Scale{i}\n")
        elif i < legacy:
            j = i - 1
            (tree / pkg / f"head{i}.py").write_text(CALLS.format(i=i, j=j, pkg=f"pkg{j // per_package}"))
        else:
            (tree / pkg / f"block{i}.py").write_text(ORDINARY.format(i=i, w=rng.choice([8, 16, 32])))
    return tree


REPEAT = 5


def timed(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds (best run), peak RSS in MB (GNU time, worst run), exit code."""
    gnu = shutil.which("time") or "/usr/bin/time"
    walls, peaks = [], []
    for _ in range(REPEAT):
        start = time.perf_counter()
        proc = subprocess.run([gnu, "-f", "%M", *cmd], capture_output=True, text=True, cwd=REPO)
        walls.append(time.perf_counter() - start)
        peaks.append(int(proc.stderr.strip().splitlines()[-1]) / 1024)
    return min(walls), max(peaks), proc.returncode


FLOOR = """
import ast, sys, time
start = time.perf_counter()
import libcst
from pathlib import Path
from autograd_migrate.discover import iter_python_files, may_contain_legacy, mentions_any
files = [p.read_bytes() for p in iter_python_files([Path(sys.argv[1])])]
first = [d for d in files if may_contain_legacy(d)]
names = frozenset(
    c.name
    for d in first
    for c in ast.walk(ast.parse(d))
    if isinstance(c, ast.ClassDef) and any(ast.unparse(b).endswith("Function") for b in c.bases)
)
chosen = [d for d in files if may_contain_legacy(d) or mentions_any(d, names)]
ready = time.perf_counter()
for d in chosen:
    libcst.parse_module(d)
print(time.perf_counter() - ready, len(chosen))
"""


def parse_floor(tree: Path) -> tuple[float, float, int]:
    """The floor for any LibCST tool: a process that imports LibCST, reads the tree and parses
    exactly the files autograd-migrate parses (those the text test lets through, and those
    naming a legacy class). (process wall seconds, seconds of the parse alone, files parsed)"""
    runs = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", FLOOR, str(tree)], capture_output=True, text=True, cwd=REPO)
        parse, count = out.stdout.split()
        runs.append((time.perf_counter() - start, float(parse), int(count)))
    return min(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "autograd_migrate")], check=True)
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            tree = generate(Path(tmp), n)
            agm = [sys.executable, "-m", "autograd_migrate", str(tree), "--diff"]
            j1 = timed([*agm, "-j", "1"])
            j2 = timed([*agm, "-j", "2"])
            rf = timed([ruff, "check", "--isolated", "--select", "UP", "--no-cache", "--exit-zero", str(tree)])
            floor, parse, parsed = parse_floor(tree)
            rows.append(
                {
                    "modules": n,
                    "agm_j1_s": round(j1[0], 2),
                    "agm_j2_s": round(j2[0], 2),
                    "agm_peak_mb": round(max(j1[1], j2[1]), 1),
                    "agm_exit": j2[2],
                    "ruff_s": round(rf[0], 2),
                    "files_parsed": parsed,
                    "parse_only_s": round(parse, 2),
                    "floor_process_s": round(floor, 2),
                    "agm_j2_over_floor": round(j2[0] / floor, 1),
                }
            )
    if args.json:
        print(json.dumps(rows))
        return 0
    print("modules  agm -j1  agm -j2  peak MB  ruff UP  parsed  parse only  floor process  -j2/floor")
    for r in rows:
        print(
            f"{r['modules']:7}  {r['agm_j1_s']:7.2f}  {r['agm_j2_s']:7.2f}  {r['agm_peak_mb']:7.1f}"
            f"  {r['ruff_s']:7.2f}  {r['files_parsed']:6}  {r['parse_only_s']:10.2f}  {r['floor_process_s']:13.2f}"
            f"  {r['agm_j2_over_floor']:8.1f}x"
        )
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print(
            f"growth {a['modules']} -> {b['modules']} modules: x{b['agm_j2_s'] / a['agm_j2_s']:.2f} "
            f"(size x{b['modules'] / a['modules']:.0f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

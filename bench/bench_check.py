#!/usr/bin/env python3
"""Measure the speed target of `autograd-migrate` checking a tree.

Target: checking a real ~1,000-file repository with no legacy code takes
under 1 s and under 3x `ruff check --select UP` on the same tree, without
importing torch. Stdlib only; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

# Pinned so runs are comparable: pure Python, 1,091 .py files, no autograd code.
PINNED = ("twisted", "24.11.0")
BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
MAX_SECONDS, MAX_RATIO = 1.0, 3.0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tree", type=Path, help="tree to check (default: pinned sdist)")
    p.add_argument(
        "--cache",
        type=Path,
        default=BENCH_DIR / ".cache",
        help="where the pinned sdist is extracted (default: bench/.cache)",
    )
    p.add_argument("--runs", type=int, default=5, help="timed runs per tool, after 1 warm-up (default 5)")
    p.add_argument(
        "--cmd", help="autograd-migrate command, shell-quoted (default: this interpreter -m autograd_migrate)"
    )
    p.add_argument("--json", action="store_true", help="print results as JSON")
    return p.parse_args()


def fetch_tree(cache: Path) -> Path:
    """Download and extract the pinned sdist once, so later runs need no network."""
    name, version = PINNED
    dest = cache / f"{name}-{version}"
    if dest.is_dir():
        return dest
    print(f"fetching {name}=={version} sdist into {cache} ...", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"{name}=={version}",
                "-d",
                tmp,
            ],
            check=True,
        )
        (sdist,) = Path(tmp).glob("*.tar.gz")
        with tarfile.open(sdist) as tar:
            tar.extractall(tmp, filter="data")
        (src,) = [d for d in Path(tmp).iterdir() if d.is_dir()]
        cache.mkdir(parents=True, exist_ok=True)
        # Moved in last, so an interrupted fetch never leaves a half tree behind.
        return Path(shutil.move(src, dest))


def run(cmd: list[str], env: dict | None = None) -> dict:
    """Run once, from the repo root so `-m autograd_migrate` needs no install.
    os.wait4 gives this child's ru_maxrss, not mixed with other children's as a
    RUSAGE_CHILDREN reading would be; but see peak_rss_mb."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=REPO, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        return {
            "wall": wall,
            "rc": proc.returncode,
            "rss_kb": usage.ru_maxrss // (1024 if sys.platform == "darwin" else 1),
            "out": out.read().decode(errors="replace"),
            "err": err.read().decode(errors="replace"),
        }


def bench(cmds: dict[str, list[str]], runs: int) -> dict[str, dict]:
    """Time each command 1 warm-up + `runs` times, interleaved so that
    drift in machine load hits every tool alike."""
    samples: dict[str, list[dict]] = {k: [] for k in cmds}
    for i in range(runs + 1):
        for key, cmd in cmds.items():
            r = run(cmd)
            if i:
                samples[key].append(r)
    results = {}
    for key, rs in samples.items():
        walls = [r["wall"] for r in rs]
        tail = (rs[-1]["out"] + rs[-1]["err"]).strip().splitlines()[-5:]
        results[key] = {
            "cmd": shlex.join(cmds[key]),
            "median_s": statistics.median(walls),
            "min_s": min(walls),
            "exit_codes": sorted({r["rc"] for r in rs}),
            "output_tail": tail,
        }
        results[key].update(peak_rss_mb(cmds[key], rs))
    return results


def peak_rss_mb(cmd: list[str], runs: list[dict]) -> dict:
    """Peak RSS from one more run under GNU time (%M). A vfork()ed child keeps
    its parent's high-water mark at exec, so wait4's ru_maxrss is never below
    this script's own RSS: it is used only when GNU time is missing."""
    gnu_time = shutil.which("time", path="/usr/bin")
    if gnu_time and subprocess.run([gnu_time, "--version"], capture_output=True, check=False).returncode == 0:
        with tempfile.NamedTemporaryFile("r") as f:
            run([gnu_time, "-f", "%M", "-o", f.name, *cmd])
            # Last token: GNU time first notes a non-zero exit status, if any.
            kb = int(f.read().split()[-1])
        return {"peak_rss_mb": kb / 1024, "rss_method": "GNU time %M"}
    return {
        "peak_rss_mb": max(r["rss_kb"] for r in runs) / 1024,
        "rss_method": "os.wait4 ru_maxrss (at least this script's RSS)",
    }


def torch_imports(cmd: list[str]) -> list[str] | None:
    """Modules named torch* that the command imports, or None if it printed no
    import times. PYTHONPROFILEIMPORTTIME is `-X importtime` for any Python
    process, so this also works when --cmd is a console script."""
    r = run(cmd, env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    lines = [ln for ln in r["err"].splitlines() if ln.startswith("import time:")]
    if not lines:
        return None
    return [ln.rsplit("|", 1)[-1].strip() for ln in lines if re.search(r"\btorch\b", ln)]


def find_ruff() -> str:
    """Prefer the ruff beside this interpreter: the project's venv pins one."""
    here = str(Path(sys.executable).parent)
    ruff = shutil.which("ruff", path=here) or shutil.which("ruff")
    if not ruff:
        sys.exit("ruff not found beside the interpreter or on PATH")
    return ruff


def main() -> int:
    args = parse_args()
    tree = (args.tree or fetch_tree(args.cache.resolve())).resolve()
    ours = shlex.split(args.cmd) if args.cmd else [sys.executable, "-m", "autograd_migrate"]
    # --isolated: the cached tree sits inside this project, whose ruff config
    # must not apply to it.
    ruff = [find_ruff(), "check", "--isolated", "--select", "UP", "--no-cache", "--exit-zero"]
    res = bench({"autograd-migrate": [*ours, str(tree)], "ruff": [*ruff, str(tree)]}, args.runs)
    ratio = res["autograd-migrate"]["median_s"] / res["ruff"]["median_s"]
    torch = torch_imports([*ours, str(tree)])
    checks = {
        "under_1s": res["autograd-migrate"]["median_s"] < MAX_SECONDS,
        "under_3x_ruff": ratio < MAX_RATIO,
        "no_torch_import": None if torch is None else not torch,
        "clean_exit": res["autograd-migrate"]["exit_codes"] == [0],
    }
    report = {
        "tree": str(tree),
        "py_files": sum(1 for _ in tree.rglob("*.py")),
        "runs": args.runs,
        "tools": res,
        "ratio": ratio,
        "torch_modules_imported": torch,
        "checks": checks,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0 if all(ok is not False for ok in checks.values()) else 1


def print_table(rep: dict) -> None:
    """Human summary; every figure is also in --json."""
    print(f"tree: {rep['tree']}")
    print(f"      {rep['py_files']} .py files, {rep['runs']} runs + 1 warm-up\n")
    print(f"{'tool':<18}{'median s':>10}{'min s':>9}{'peak RSS MB':>13}  exit")
    for name, t in rep["tools"].items():
        codes = ",".join(map(str, t["exit_codes"]))
        print(f"{name:<18}{t['median_s']:>10.3f}{t['min_s']:>9.3f}{t['peak_rss_mb']:>13.1f}  {codes}")
    ours = rep["tools"]["autograd-migrate"]
    print(f"(peak RSS by {ours['rss_method']})")
    if ours["exit_codes"] != [0]:
        print("\nautograd-migrate did not exit 0 on this tree; its output ended with:")
        print("\n".join("  " + ln for ln in ours["output_tail"] or ["(no output)"]))
    print(f"\nratio autograd-migrate / ruff: {rep['ratio']:.2f}x")
    torch = rep["torch_modules_imported"]
    labels = {
        "under_1s": f"median < {MAX_SECONDS:g} s",
        "under_3x_ruff": f"median < {MAX_RATIO:g}x ruff",
        "no_torch_import": "does not import torch",
        "clean_exit": "exit code 0 (no findings, no errors)",
    }
    if torch:
        labels["no_torch_import"] += f" ({len(torch)} torch modules imported)"
    for key, ok in rep["checks"].items():
        verdict = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
        print(f"{verdict:<5} {labels[key]}")


if __name__ == "__main__":
    sys.exit(main())

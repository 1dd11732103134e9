#!/usr/bin/env python3
"""Measure verification speed on the shipped fixtures.

Target (issue 3): under 1 s to verify one fixture class once a worker is warm; workers are
reused across classes. Reports the median and max per-class time (measured inside the worker,
so interpreter and torch start-up are excluded) and the wall time of the whole run, which
includes them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for d in sorted((REPO / "fixtures").iterdir()):
            if (d / "after.py").exists():
                shutil.copy(d / "before.py", Path(tmp) / f"{d.name}.py")
        start = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "autograd_migrate",
                tmp,
                "--diff",
                "--verify",
                "-j",
                str(args.jobs),
                "--output-format",
                "json",
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        wall = time.perf_counter() - start
    found = json.loads(proc.stdout)["verifications"]
    seconds = sorted(v["seconds"] for v in found)
    result = {
        "classes": len(found),
        "statuses": {s: sum(v["status"] == s for v in found) for s in {v["status"] for v in found}},
        "median_s": statistics.median(seconds),
        "max_s": seconds[-1],
        "wall_s": round(wall, 2),
        "workers": args.jobs,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['classes']} classes, {result['statuses']}, {args.jobs} workers")
        print(f"per class (warm worker): median {result['median_s']:.3f} s, max {result['max_s']:.3f} s")
        print(f"whole run, start-up included: {result['wall_s']:.2f} s")
        print(("PASS" if result["median_s"] < 1.0 else "FAIL") + "  median per class < 1 s")
    return 0 if result["median_s"] < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())

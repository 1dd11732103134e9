"""`autograd-migrate PATH... [--diff | --fix] [--verify]` and `autograd-migrate verify LEGACY MIGRATED`.

Exit codes: 0 clean (or the diff is empty), 1 findings remain (or the diff is not empty, or a
migration was shown to compute something else), 2 usage errors and files that could not be
read, parsed or written.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import sys
from pathlib import Path

from autograd_migrate import __version__
from autograd_migrate.discover import iter_python_files
from autograd_migrate.engine import FileResult, process_project
from autograd_migrate.report import RunReport, verification_summary, write_json, write_text, write_verifications
from autograd_migrate.rules import RULES, explain

NEEDS_TORCH = "verification runs the code with torch: install it with  pip install 'autograd-migrate[verify]'"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 too; keep its wording, add our name
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _verify_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verify-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="per-class time limit of verification (default: 60, or verify-timeout in pyproject.toml)",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_count,
        default=os.cpu_count() or 1,
        metavar="N",
        help="processes for parsing files and for verification (default: the number of cores)",
    )
    parser.add_argument("--output-format", choices=("text", "json"), default="text")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="autograd-migrate",
        description="Find legacy torch.autograd.Function code and migrate it to the static API. "
        "`autograd-migrate verify LEGACY MIGRATED` checks a migration made by hand.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path(".")],
        metavar="PATH",
        help="files or directories (recursive); default: the current directory",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--diff", action="store_true", help="print the changes --fix would make; write nothing")
    mode.add_argument("--fix", action="store_true", help="rewrite the files in place")
    parser.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="also make the unsafe fixes (right in the common case, but they can change behaviour: "
        "see --explain for each code)",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="with --diff/--fix: run every migrated class against the original (executes the code)",
    )
    _verify_options(parser)
    parser.add_argument("--explain", metavar="CODE", help="describe a finding code and exit")
    parser.add_argument("--version", action="version", version=f"autograd-migrate {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["verify"]:  # `./verify` still names a path
        return verify_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.explain:
        text = explain(args.explain)
        if text is None:
            parser.error(f"unknown code {args.explain!r}; codes: {', '.join(RULES)}")
        print(text)
        return 0
    mode = "diff" if args.diff else "fix" if args.fix else "check"
    if args.verify and mode == "check":
        parser.error("--verify goes with --diff or --fix")
    if args.verify and not _torch_available():
        parser.exit(2, f"autograd-migrate: error: {NEEDS_TORCH}\n")
    results: list[FileResult] = []
    for path in args.paths:
        if not path.exists():
            results.append(FileResult(path, error=f"{path}:1:1: no such file or directory"))
    given = [p for p in args.paths if p.exists()]
    files = list(iter_python_files(given))
    # A run allocates many small, long-lived, acyclic syntax nodes: at the default threshold
    # the collector scans them hundreds of times (7% of a run); it still runs, less often.
    gc.set_threshold(10_000, 20, 20)
    found, warnings = process_project(files, keep=args.verify, jobs=args.jobs, unsafe=args.unsafe_fixes, given=given)
    report = RunReport(mode, results + found, warnings=warnings)
    if args.verify:
        report.verifications = _verify(lambda: _run_jobs(report.results, args))
    if mode == "fix":
        _write(report)
    if args.output_format == "json":
        write_json(report, sys.stdout)
    else:
        write_text(report, sys.stdout, sys.stderr)
    return report.exit_code()


def _torch_available() -> bool:
    """Without importing it: the parent stays light, only the workers load torch."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # a broken or deliberately blocked torch
        return False


def _run_jobs(results: list[FileResult], args: argparse.Namespace):
    from autograd_migrate.verify.jobs import jobs_for_run
    from autograd_migrate.verify.pool import run_jobs

    return run_jobs(jobs_for_run(results, args.verify_timeout), args.jobs)


def _verify(run):
    """Verification problems of the user's making (bad hints or config) are usage errors."""
    from autograd_migrate.config import ConfigError

    try:
        return run()
    except ConfigError as exc:  # hint comments too
        sys.stderr.write(f"autograd-migrate: error: {exc}\n")
        sys.exit(2)


def _write(report: RunReport) -> None:
    if not report.changed:
        return  # a clean tree never loads the parser, not even to write nothing
    from autograd_migrate.source import write_atomic

    disproved = report.disproved()
    for result in report.changed:
        if str(result.path) in disproved:
            continue  # a class in it was shown to compute something else
        try:
            write_atomic(result.path, result.new)
        except OSError as exc:
            result.error = f"{result.path}:1:1: cannot write: {exc.strerror or exc}"
            continue
        report.written.append(result)


def verify_main(argv: list[str]) -> int:
    parser = _Parser(
        prog="autograd-migrate verify",
        description="Check a migration made by hand (or by another tool) against the original: every "
        "legacy Function class of LEGACY is run side by side with the class of the same name in "
        "MIGRATED. Executes the code of both files. Exit 0: nothing different; 1: a class is "
        "different or could not be run to the end; 2: usage error.",
    )
    parser.add_argument("legacy", type=Path, metavar="LEGACY")
    parser.add_argument("migrated", type=Path, metavar="MIGRATED")
    _verify_options(parser)
    args = parser.parse_args(argv)
    if not _torch_available():
        parser.exit(2, f"autograd-migrate verify: error: {NEEDS_TORCH}\n")
    for path in (args.legacy, args.migrated):
        if not path.is_file():
            parser.error(f"{path}: no such file")
    from autograd_migrate.verify.jobs import jobs_for_pair
    from autograd_migrate.verify.pool import run_jobs

    try:
        jobs, result = _verify(lambda: jobs_for_pair(args.legacy, args.migrated, args.verify_timeout))
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        parser.exit(2, f"autograd-migrate verify: error: {args.migrated}: cannot read it as Python source: {exc}\n")
    if result.error:
        parser.exit(2, f"{result.error}\n")
    if not jobs:
        parser.exit(2, f"autograd-migrate verify: error: {args.legacy} has no legacy Function class\n")
    verifications = run_jobs(jobs, args.jobs)
    if args.output_format == "json":
        json.dump({"version": 1, "verifications": [v.to_json() for v in verifications]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        write_verifications(verifications, sys.stdout)
        sys.stderr.write(verification_summary(verifications) + "\n")
    return 1 if any(v.status in ("different", "error") for v in verifications) else 0

"""End-to-end tests of the command line: real subprocesses on real files, no mocks.

Every test builds a small tree under tmp_path, runs `python -m autograd_migrate ...` with that
tree as the working directory and asserts on the exact exit code, stdout, stderr and bytes on
disk. The contract being checked is the one in cli.py's docstring:
0 clean (or empty diff), 1 findings remain (or non-empty diff), 2 usage or file errors.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from samples import GRAD_REVERSE, GRAD_REVERSE_FIXED, NUMPY_SQUARE

import autograd_migrate

# --------------------------------------------------------------------------------------------
# shared helpers and inline modules
# --------------------------------------------------------------------------------------------

OLD_NS = 1_000_000_000 * 10**9  # 2001-09-09: any write by the tool moves mtime away from this


def run_cli(*args: str | os.PathLike, cwd: Path, python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter; stdout/stderr decoded as UTF-8."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, *python_flags, "-m", "autograd_migrate", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=300,
    )


def write(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    os.utime(path, ns=(OLD_NS, OLD_NS))
    return path


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root with its bytes and mtime, to prove a run wrote nothing."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()
    }


FINDING_LINE = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<code>AGM\d{3}) (?P<msg>.+)$")


def finding_lines(text: str) -> list[re.Match]:
    return [m for m in map(FINDING_LINE.match, text.splitlines()) if m]


def codes_by_path(text: str) -> set[tuple[str, int, str]]:
    return {(m["path"], int(m["line"]), m["code"]) for m in finding_lines(text)}


def diff_header(name: str) -> str:
    """Unified diff file header as documented in the README's JSON example (`--- ops.py`)."""
    return f"--- {name}\n+++ {name}\n"


def expected_diff(name: str, old: str, new: str) -> str:
    header = diff_header(name).splitlines()
    return "".join(
        difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), header[0][4:], header[1][4:])
    )


# Manual only: *args in __init__ cannot be moved to forward (AGM101), nothing fixable.
VARARGS = """\
import torch
from torch.autograd import Function


class Permute(Function):
    def __init__(self, *dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(*self.dims)

    def backward(self, grad_output):
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d] = i
        return grad_output.permute(*inverse)
"""

CLEAN = "import os\n\n\ndef cwd():\n    return os.getcwd()\n"

# Python 2 legacy module: the `print "x"` statement is on line 7 and is not the last line.
PY2_LEGACY = """\
import torch
from torch.autograd import Function


class Loud(Function):
    def forward(self, x):
        print "x"
        return x

    def backward(self, g):
        return g
"""


def legacy_tree(tmp_path: Path) -> Path:
    write(tmp_path, "gr.py", GRAD_REVERSE)
    return tmp_path


# --------------------------------------------------------------------------------------------
# check mode
# --------------------------------------------------------------------------------------------


def test_check_prints_findings_and_summary_and_exits_1(tmp_path):
    """The default mode is a linter: `path:line:col: CODE message` on stdout, summary on stderr."""
    legacy_tree(tmp_path)
    before = snapshot(tmp_path)
    proc = run_cli("gr.py", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and all(FINDING_LINE.match(line) for line in lines), proc.stdout
    assert lines[0].startswith("gr.py:5:7: AGM001 ")
    assert "GradReverse" in lines[0] and "lambd" in lines[0]
    assert lines[1].startswith("gr.py:17:5: AGM002 ")
    assert "GradReverse.apply" in lines[1]
    assert re.search(r"^Found 2 findings \(2 fixable with --fix, 0 manual\)\.$", proc.stderr, re.M), proc.stderr
    assert snapshot(tmp_path) == before  # checking never writes


def test_check_marks_manual_findings_and_counts_them(tmp_path):
    """Manual findings are listed too, without the `[*]` fixable mark, and counted as manual."""
    write(tmp_path, "perm.py", VARARGS)
    proc = run_cli("perm.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert codes_by_path(proc.stdout) == {("perm.py", 5, "AGM001"), ("perm.py", 6, "AGM101")}
    assert "[*]" not in proc.stdout
    assert "0 fixable with --fix, 2 manual" in proc.stderr


def test_check_clean_tree_exits_0(tmp_path):
    """No findings: nothing on stdout, 'All checks passed!' on stderr, exit 0."""
    write(tmp_path, "a.py", CLEAN)
    write(tmp_path, "pkg/b.py", "import torch\n\nx = torch.ones(2)\n")
    proc = run_cli(".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.strip() == "All checks passed!"


def test_default_path_is_current_directory(tmp_path):
    """With no PATH the current directory is scanned recursively."""
    write(tmp_path, "sub/gr.py", GRAD_REVERSE)
    proc = run_cli(cwd=tmp_path)
    assert proc.returncode == 1
    assert {(p, c) for p, _, c in codes_by_path(proc.stdout)} == {("sub/gr.py", "AGM001"), ("sub/gr.py", "AGM002")}


# --------------------------------------------------------------------------------------------
# --diff
# --------------------------------------------------------------------------------------------


def test_diff_prints_unified_diff_and_writes_nothing(tmp_path):
    """--diff shows exactly what --fix would write as a unified diff, changes no byte or mtime."""
    legacy_tree(tmp_path)
    before = snapshot(tmp_path)
    proc = run_cli("--diff", "gr.py", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith(diff_header("gr.py") + "@@ ")
    assert "-    def forward(self, x):\n" in proc.stdout
    assert "+    @staticmethod\n+    def forward(ctx, x, lambd):\n" in proc.stdout
    assert "+y = GradReverse.apply(torch.ones(2), 0.5)\n" in proc.stdout
    assert proc.stdout == expected_diff("gr.py", GRAD_REVERSE, GRAD_REVERSE_FIXED)
    assert "Would fix 2 findings in 1 file" in proc.stderr
    assert snapshot(tmp_path) == before  # same files, same bytes, same mtimes, no temp files


def test_diff_matches_what_fix_writes(tmp_path):
    """The diff applied to the original equals the file --fix produces (multi-file tree)."""
    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        write(root, "gr.py", GRAD_REVERSE)
        write(root, "np_sq.py", NUMPY_SQUARE)
    diff = run_cli("--diff", ".", cwd=a)
    fix = run_cli("--fix", ".", cwd=b)
    assert diff.returncode == 1 and fix.returncode == 0, fix.stdout + fix.stderr
    expected = ""
    for name in ("gr.py", "np_sq.py"):
        expected += expected_diff(name, (a / name).read_text(), (b / name).read_text())
    assert diff.stdout == expected
    assert (b / "np_sq.py").read_text() != NUMPY_SQUARE


@pytest.mark.parametrize("content, name", [(VARARGS, "perm.py"), (CLEAN, "clean.py")], ids=["manual-only", "clean"])
def test_diff_empty_exits_0(tmp_path, content, name):
    """Nothing fixable means an empty diff and exit 0; manual findings still go to stderr."""
    write(tmp_path, name, content)
    before = snapshot(tmp_path)
    proc = run_cli("--diff", name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""
    if content is VARARGS:
        assert codes_by_path(proc.stderr) == {("perm.py", 5, "AGM001"), ("perm.py", 6, "AGM101")}
        assert "Would fix 0 findings in 0 files; 2 need manual work." in proc.stderr
    else:
        assert "Would fix 0 findings in 0 files" in proc.stderr
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------------------------------
# --fix
# --------------------------------------------------------------------------------------------


def test_fix_rewrites_in_place_and_is_stable(tmp_path):
    """--fix writes the migration, exits 0 when nothing is left; a second run and a check are no-ops."""
    legacy_tree(tmp_path)
    write(tmp_path, "np_sq.py", NUMPY_SQUARE)
    proc = run_cli("--fix", ".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert "Fixed 4 findings in 2 files; 0 remaining" in proc.stderr
    assert (tmp_path / "gr.py").read_text() == GRAD_REVERSE_FIXED
    np_sq = (tmp_path / "np_sq.py").read_text()
    assert "    @staticmethod\n    def forward(ctx, x):\n        ctx.x = x.detach().numpy()\n" in np_sq
    assert "return grad_output * torch.from_numpy(2 * ctx.x)\n" in np_sq
    assert "y = NumpySquare.apply(torch.ones(3, dtype=torch.double))\n" in np_sq

    for p in tmp_path.glob("*.py"):
        os.utime(p, ns=(OLD_NS, OLD_NS))
    after_first = snapshot(tmp_path)
    second = run_cli("--fix", ".", cwd=tmp_path)
    assert second.returncode == 0 and second.stdout == ""
    assert "Fixed 0 findings in 0 files" in second.stderr
    assert snapshot(tmp_path) == after_first
    check = run_cli(".", cwd=tmp_path)
    assert check.returncode == 0 and check.stdout == ""
    assert check.stderr.strip() == "All checks passed!"


def test_fix_exits_1_when_manual_findings_remain(tmp_path):
    """Fixable files are fixed, manual ones are untouched and listed, and the exit code is 1."""
    legacy_tree(tmp_path)
    write(tmp_path, "perm.py", VARARGS)
    proc = run_cli("--fix", ".", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert codes_by_path(proc.stdout) == {("perm.py", 5, "AGM001"), ("perm.py", 6, "AGM101")}
    assert "gr.py" not in proc.stdout  # fixed findings are not listed as remaining
    assert "2 remaining (manual)" in proc.stderr
    assert (tmp_path / "gr.py").read_text() == GRAD_REVERSE_FIXED
    assert (tmp_path / "perm.py").read_text() == VARARGS
    again = run_cli("--fix", ".", cwd=tmp_path)
    assert again.returncode == 1 and codes_by_path(again.stdout) == codes_by_path(proc.stdout)


# --------------------------------------------------------------------------------------------
# usage errors and missing paths
# --------------------------------------------------------------------------------------------


def test_diff_and_fix_together_is_a_usage_error(tmp_path):
    """The two modes are exclusive: exit 2 with argparse's message, and nothing is written."""
    legacy_tree(tmp_path)
    before = snapshot(tmp_path)
    proc = run_cli("--diff", "--fix", "gr.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "usage: autograd-migrate" in proc.stderr
    assert "autograd-migrate: error: argument --fix: not allowed with argument --diff" in proc.stderr
    assert snapshot(tmp_path) == before


def test_unknown_flag_is_a_usage_error(tmp_path):
    legacy_tree(tmp_path)
    proc = run_cli("--bogus", "gr.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "unrecognized arguments: --bogus" in proc.stderr


def test_unknown_output_format_is_a_usage_error(tmp_path):
    proc = run_cli("--output-format", "xml", ".", cwd=tmp_path)
    assert proc.returncode == 2
    assert "invalid choice: 'xml'" in proc.stderr


def test_missing_path_is_an_error_but_other_paths_are_processed(tmp_path):
    """A typo in one path must not hide the findings of the others (exit 2 wins over 1)."""
    legacy_tree(tmp_path)
    proc = run_cli("gr.py", "missing.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert {c for _, _, c in codes_by_path(proc.stdout)} == {"AGM001", "AGM002"}
    assert re.search(r"^missing\.py:.*no such file or directory$", proc.stderr, re.M), proc.stderr
    assert "1 file could not be processed" in proc.stderr


def test_missing_path_with_fix_still_fixes_the_others(tmp_path):
    legacy_tree(tmp_path)
    proc = run_cli("--fix", "missing_dir", "gr.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "missing_dir" in proc.stderr
    assert (tmp_path / "gr.py").read_text() == GRAD_REVERSE_FIXED
    assert not (tmp_path / "missing_dir").exists()


def test_overlapping_paths_are_processed_once(tmp_path):
    """A file reached through several PATH arguments is one file: its findings are reported once."""
    legacy_tree(tmp_path)
    proc = run_cli("gr.py", "./gr.py", ".", cwd=tmp_path)
    assert proc.returncode == 1
    assert len(finding_lines(proc.stdout)) == 2, proc.stdout
    assert "Found 2 findings" in proc.stderr
    fix = run_cli("--fix", "--output-format", "json", "gr.py", ".", cwd=tmp_path)
    assert json.loads(fix.stdout)["changed_files"] == ["gr.py"]


# --------------------------------------------------------------------------------------------
# files that do not parse
# --------------------------------------------------------------------------------------------


def test_syntax_error_is_reported_and_other_files_still_checked(tmp_path):
    """A Python 2 file is an error naming the file and a line; the tree's other findings still print."""
    write(tmp_path, "src/bad.py", PY2_LEGACY)
    write(tmp_path, "src/gr.py", GRAD_REVERSE)
    proc = run_cli("src", cwd=tmp_path)
    assert proc.returncode == 2
    assert re.search(r"^src/bad\.py:\d+:\d+: syntax error", proc.stderr, re.M), proc.stderr
    assert {(p, c) for p, _, c in codes_by_path(proc.stdout)} == {("src/gr.py", "AGM001"), ("src/gr.py", "AGM002")}
    assert "1 file could not be processed" in proc.stderr


@pytest.mark.parametrize(
    "source, line",
    [
        (PY2_LEGACY, 7),
        ("import torch\nprint 'x'\nfrom torch.autograd import Function\n", 2),
    ],
    ids=["in-method", "top-level"],
)
def test_syntax_error_names_the_right_line(tmp_path, source, line):
    """The error points at the offending line, not the token after it (LibCST's raw_line is one
    too far when the bad statement is followed by another line)."""
    write(tmp_path, "bad.py", source)
    proc = run_cli("bad.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert re.search(rf"^bad\.py:{line}:\d+: syntax error", proc.stderr, re.M), proc.stderr


def test_fix_with_syntax_error_fixes_good_file_and_leaves_bad_one(tmp_path):
    """One unparsable file must not block the fix of the others, and it must stay byte-identical."""
    bad = write(tmp_path, "bad.py", PY2_LEGACY)
    write(tmp_path, "gr.py", GRAD_REVERSE)
    proc = run_cli("--fix", ".", cwd=tmp_path)
    assert proc.returncode == 2
    assert re.search(r"^bad\.py:\d+:\d+: syntax error", proc.stderr, re.M), proc.stderr
    assert (tmp_path / "gr.py").read_text() == GRAD_REVERSE_FIXED
    assert bad.read_bytes() == PY2_LEGACY.encode()
    assert bad.stat().st_mtime_ns == OLD_NS


# --------------------------------------------------------------------------------------------
# directory recursion
# --------------------------------------------------------------------------------------------

SKIPPED = [
    ".git/hooks/legacy.py",
    "venv/lib/python3.11/site-packages/pkg/legacy.py",
    ".venv/lib/legacy.py",
    "myenv/lib/legacy.py",  # a virtualenv with another name: recognised by its pyvenv.cfg
    "build/lib/pkg/legacy.py",
    "dist/legacy.py",
    "__pycache__/legacy.py",
    "node_modules/some-package/legacy.py",
    "my_pkg.egg-info/legacy.py",
    "pkg/build/legacy.py",  # skip dirs are skipped at any depth
]


def skip_tree(tmp_path: Path) -> Path:
    write(tmp_path, "pkg/ok.py", GRAD_REVERSE)
    write(tmp_path, "pkg/notes.txt", GRAD_REVERSE)  # not a .py file
    write(tmp_path, "myenv/pyvenv.cfg", "home = /usr/bin\n")
    for rel in SKIPPED:
        write(tmp_path, rel, GRAD_REVERSE)
    return tmp_path


def test_recursion_skips_vcs_venv_build_and_cache_dirs(tmp_path):
    """Vendored/generated code must never be reported: only pkg/ok.py is looked at."""
    skip_tree(tmp_path)
    proc = run_cli(".", cwd=tmp_path)
    assert proc.returncode == 1
    assert {p for p, _, _ in codes_by_path(proc.stdout)} == {"pkg/ok.py"}
    assert "Found 2 findings" in proc.stderr


def test_fix_does_not_touch_skipped_dirs(tmp_path):
    skip_tree(tmp_path)
    proc = run_cli("--fix", "--output-format", "json", ".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert json.loads(proc.stdout)["changed_files"] == ["pkg/ok.py"]
    for rel in SKIPPED:
        assert (tmp_path / rel).read_text() == GRAD_REVERSE, rel
    assert (tmp_path / "pkg/notes.txt").read_text() == GRAD_REVERSE


def test_file_named_explicitly_is_checked_even_in_a_skipped_dir(tmp_path):
    """Skipping applies to recursion only; a file given on the command line is always processed."""
    write(tmp_path, "build/gen.py", GRAD_REVERSE)
    proc = run_cli("build/gen.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert {p for p, _, _ in codes_by_path(proc.stdout)} == {"build/gen.py"}


# --------------------------------------------------------------------------------------------
# JSON output
# --------------------------------------------------------------------------------------------

FINDING_KEYS = {
    "path": str,
    "line": int,
    "column": int,
    "code": str,
    "message": str,
    "fixable": bool,
    "applicability": str,
    "fixed": bool,
}


def json_tree(root: Path) -> Path:
    write(root, "gr.py", GRAD_REVERSE)
    write(root, "perm.py", VARARGS)
    write(root, "clean.py", CLEAN)
    return root


def load_report(proc: subprocess.CompletedProcess, mode: str) -> dict:
    doc = json.loads(proc.stdout)  # raises if stdout is not exactly one JSON document
    expected_keys = {"version", "mode", "findings", "errors", "warnings", "changed_files"}
    assert set(doc) == expected_keys | ({"diff"} if mode == "diff" else set())
    assert doc["warnings"] == []  # whole trees only here
    assert doc["mode"] == mode
    assert type(doc["version"]) is int and doc["version"] >= 1
    for f in doc["findings"]:
        assert set(f) == set(FINDING_KEYS), f
        for key, typ in FINDING_KEYS.items():
            assert type(f[key]) is typ, (key, f)  # exact: a bool is not an int, an int is not a bool
        assert re.fullmatch(r"AGM\d{3}", f["code"]) and f["line"] >= 1 and f["column"] >= 1
    for e in doc["errors"]:
        assert set(e) == {"path", "message"} and all(type(v) is str for v in e.values()), e
    assert all(type(p) is str for p in doc["changed_files"])
    return doc


def test_json_check_mode(tmp_path):
    json_tree(tmp_path)
    proc = run_cli("--output-format", "json", ".", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr == ""  # the summary is not printed around the document
    doc = load_report(proc, "check")
    got = {(f["path"], f["line"], f["column"], f["code"], f["fixable"], f["fixed"]) for f in doc["findings"]}
    assert got == {
        ("gr.py", 5, 7, "AGM001", True, False),
        ("gr.py", 17, 5, "AGM002", True, False),
        ("perm.py", 5, 7, "AGM001", False, False),
        ("perm.py", 6, 9, "AGM101", False, False),
    }
    assert doc["errors"] == []
    assert doc["changed_files"] == ["gr.py"]  # would change


def test_json_diff_mode_carries_the_text_diff(tmp_path):
    a, b = json_tree(tmp_path / "a"), json_tree(tmp_path / "b")
    proc = run_cli("--diff", "--output-format", "json", ".", cwd=a)
    text = run_cli("--diff", ".", cwd=b)
    assert proc.returncode == text.returncode == 1
    doc = load_report(proc, "diff")
    assert doc["diff"] == text.stdout and doc["diff"].startswith(diff_header("gr.py"))
    assert doc["changed_files"] == ["gr.py"]
    assert (a / "gr.py").read_text() == GRAD_REVERSE


def test_json_fix_mode_lists_written_files_and_fixed_findings(tmp_path):
    json_tree(tmp_path)
    proc = run_cli("--fix", "--output-format", "json", ".", cwd=tmp_path)
    assert proc.returncode == 1  # perm.py's manual findings remain
    doc = load_report(proc, "fix")
    assert doc["changed_files"] == ["gr.py"]
    by_path = {}
    for f in doc["findings"]:
        by_path.setdefault(f["path"], set()).add((f["code"], f["fixed"]))
    assert by_path == {"gr.py": {("AGM001", True), ("AGM002", True)}, "perm.py": {("AGM001", False), ("AGM101", False)}}
    assert (tmp_path / "gr.py").read_text() == GRAD_REVERSE_FIXED

    second = run_cli("--fix", "--output-format", "json", ".", cwd=tmp_path)
    assert second.returncode == 1
    doc2 = load_report(second, "fix")
    assert doc2["changed_files"] == []
    assert {f["path"] for f in doc2["findings"]} == {"perm.py"}


EXIT_SCENARIOS = [
    ((), {"gr.py": GRAD_REVERSE}, 1),
    ((), {"clean.py": CLEAN}, 0),
    ((), {"gr.py": GRAD_REVERSE, "bad.py": PY2_LEGACY}, 2),
    (("--diff",), {"gr.py": GRAD_REVERSE}, 1),
    (("--diff",), {"perm.py": VARARGS, "clean.py": CLEAN}, 0),
    (("--diff",), {"gr.py": GRAD_REVERSE, "bad.py": PY2_LEGACY}, 2),
    (("--fix",), {"gr.py": GRAD_REVERSE, "np_sq.py": NUMPY_SQUARE}, 0),
    (("--fix",), {"gr.py": GRAD_REVERSE, "perm.py": VARARGS}, 1),
    (("--fix",), {"gr.py": GRAD_REVERSE, "bad.py": PY2_LEGACY}, 2),
]


@pytest.mark.parametrize(
    "mode, files, code", EXIT_SCENARIOS, ids=[f"{m[0][2:] if m else 'check'}-{c}" for m, _, c in EXIT_SCENARIOS]
)
def test_json_exit_codes_match_text_mode(tmp_path, mode, files, code):
    """Exit codes do not depend on the output format; JSON errors carry path and message."""
    for fmt in ("text", "json"):
        root = tmp_path / fmt
        for rel, text in files.items():
            write(root, rel, text)
        proc = run_cli(*mode, "--output-format", fmt, ".", cwd=root)
        assert proc.returncode == code, (fmt, proc.stdout, proc.stderr)
        if fmt == "json":
            doc = load_report(proc, mode[0][2:] if mode else "check")
            assert [e["path"] for e in doc["errors"]] == (["bad.py"] if code == 2 else [])
            assert all("syntax error" in e["message"] for e in doc["errors"])


def test_json_reports_missing_path_as_error(tmp_path):
    legacy_tree(tmp_path)
    proc = run_cli("--output-format", "json", "gr.py", "missing.py", cwd=tmp_path)
    assert proc.returncode == 2
    doc = load_report(proc, "check")
    assert [e["path"] for e in doc["errors"]] == ["missing.py"]
    assert "no such file" in doc["errors"][0]["message"]
    assert {f["code"] for f in doc["findings"]} == {"AGM001", "AGM002"}


# --------------------------------------------------------------------------------------------
# version and entry points
# --------------------------------------------------------------------------------------------


def test_version_flag(tmp_path):
    proc = run_cli("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"autograd-migrate {autograd_migrate.__version__}"


def test_explain_known_and_unknown_codes(tmp_path):
    """--explain prints a code's rationale (exit 0); an unknown code is a usage error listing the codes."""
    proc = run_cli("--explain", "AGM101", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith("AGM101 (ctor-varargs): ")
    bad = run_cli("--explain", "AGM999", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stdout == ""
    assert "unknown code 'AGM999'" in bad.stderr and "AGM001" in bad.stderr


def test_console_script_is_installed_and_runs(tmp_path):
    """The `autograd-migrate` entry point from pyproject.toml sits next to the interpreter and works."""
    script = Path(sys.executable).parent / "autograd-migrate"
    assert script.is_file() and os.access(script, os.X_OK), script
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=120)
    assert version.returncode == 0
    assert version.stdout.strip() == f"autograd-migrate {autograd_migrate.__version__}"
    legacy_tree(tmp_path)
    proc = subprocess.run([str(script), "gr.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stdout == run_cli("gr.py", cwd=tmp_path).stdout


# --------------------------------------------------------------------------------------------
# import cost
# --------------------------------------------------------------------------------------------


def imported_modules(stderr: str) -> set[str]:
    """Module names from `-X importtime` lines: `import time: self | cumulative | name`."""
    mods = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                mods.add(name)
    return mods


def is_pkg(mod: str, pkg: str) -> bool:
    return mod == pkg or mod.startswith(pkg + ".")


@pytest.mark.parametrize("mode", [(), ("--diff",), ("--fix",)], ids=["check", "diff", "fix"])
def test_checking_legacy_code_never_imports_torch(tmp_path, mode):
    """Linting is static (README: the lint and fix path never imports torch)."""
    write(tmp_path, "gr.py", GRAD_REVERSE)
    write(tmp_path, "np_sq.py", NUMPY_SQUARE)
    write(tmp_path, "perm.py", VARARGS)
    proc = run_cli(*mode, ".", cwd=tmp_path, python_flags=("-X", "importtime"))
    assert proc.returncode == 1  # perm.py stays manual, in every mode
    mods = imported_modules(proc.stderr)
    assert any(is_pkg(m, "libcst") for m in mods), "sanity: files were parsed, importtime lines captured"
    assert sorted(m for m in mods if is_pkg(m, "torch") or is_pkg(m, "numpy")) == []


@pytest.mark.parametrize(
    "files",
    [
        {"a.py": CLEAN, "pkg/b.py": "import torch\n\nx = torch.ones(2)\n", "pkg/c.py": "# nothing here\n"},
        {"a.py": "class Function:\n    pass\n", "b.py": "Variable = 1\n"},  # names, but no torch
    ],
    ids=["torch-without-legacy-names", "legacy-names-without-torch"],
)
@pytest.mark.parametrize(
    "mode",
    [
        (),
        ("--diff",),
        ("--fix",),
    ],
    ids=["check", "diff", "fix"],
)
def test_clean_tree_never_imports_libcst(tmp_path, files, mode):
    """The byte pre-filter keeps the parser out of clean trees entirely."""
    for rel, text in files.items():
        write(tmp_path, rel, text)
    proc = run_cli(*mode, ".", cwd=tmp_path, python_flags=("-X", "importtime"))
    assert proc.returncode == 0
    mods = imported_modules(proc.stderr)
    assert "autograd_migrate.cli" in mods  # sanity: importtime output was captured
    assert sorted(m for m in mods if is_pkg(m, "libcst") or is_pkg(m, "torch")) == []
    assert proc.stderr.splitlines()[-1] in (
        "All checks passed!",
        "Would fix 0 findings in 0 files; 0 need manual work.",
        "Fixed 0 findings in 0 files; 0 remaining (manual).",
    )

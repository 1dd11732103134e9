"""The file-safety guarantees of the README ("Guarantees"), checked on real files.

- every rewritten file is valid Python;
- comments and formatting outside the rewritten spans survive;
- a second run changes nothing;
- files without legacy code are never written; changed files keep encoding, line endings, BOM;
- a file LibCST cannot reproduce byte for byte is reported and left alone;
- writes are atomic, keep permissions and leave no temporary files; a write that fails is an
  error (exit 2) and does not stop the other files.

Runs go through the real CLI (`python -m autograd_migrate`) in a subprocess, or through
`autograd_migrate.engine.process` where an in-memory check is enough.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
from samples import GRAD_REVERSE, GRAD_REVERSE_FIXED, NUMPY_SQUARE

from autograd_migrate.engine import process

# --------------------------------------------------------------------------------------------
# shared helpers and inline modules
# --------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_BEFORES = sorted((ROOT / "fixtures").glob("*/before.py"))
OLD_NS = 1_000_000_000 * 10**9  # any write by the tool moves mtime away from this


def run_cli(*args: str | os.PathLike, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "autograd_migrate", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=300,
    )


def write(root: Path, rel: str, content: str | bytes, mode: int | None = None) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    if mode is not None:
        path.chmod(mode)
    os.utime(path, ns=(OLD_NS, OLD_NS))
    return path


def temp_leftovers(root: Path) -> list[str]:
    """write_atomic's temporaries are `.NAME.XXXX.tmp`; none may survive a run."""
    return sorted(str(p.relative_to(root)) for p in root.rglob(".*.tmp"))


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
        return grad_output.permute(*self.dims)
"""


# --------------------------------------------------------------------------------------------
# the output is always valid Python
# --------------------------------------------------------------------------------------------


def varied_tree(root: Path) -> Path:
    """Every fixture plus inline variants of indentation, newlines, encodings and BOM."""
    for before in FIXTURE_BEFORES:
        write(root, f"fixtures/{before.parent.name}/mod.py", before.read_bytes())
    write(root, "inline/gr.py", GRAD_REVERSE)
    write(root, "inline/np_sq.py", NUMPY_SQUARE)
    write(root, "inline/perm.py", VARARGS)
    write(root, "inline/tabs.py", GRAD_REVERSE.replace("        ", "\t\t").replace("    ", "\t"))
    write(root, "inline/two_spaces.py", GRAD_REVERSE.replace("    ", "  "))
    write(root, "inline/crlf.py", GRAD_REVERSE.replace("\n", "\r\n"))
    write(root, "inline/bom.py", b"\xef\xbb\xbf" + GRAD_REVERSE.encode())
    write(root, "inline/latin1.py", b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + NUMPY_SQUARE.encode())
    write(root, "inline/no_newline_at_eof.py", GRAD_REVERSE.rstrip("\n"))
    return root


def test_every_fixed_file_parses(tmp_path):
    """--fix on a varied tree: no internal errors, many files written, every file still parses."""
    varied_tree(tmp_path)
    proc = run_cli("--fix", "--output-format", "json", ".", cwd=tmp_path)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1, doc["errors"]  # the manual fixtures leave findings behind
    assert doc["errors"] == []
    changed = doc["changed_files"]
    assert len(changed) >= 25 and "inline/crlf.py" in changed and "inline/latin1.py" in changed
    for path in sorted(tmp_path.rglob("*.py")):
        data = path.read_bytes()
        ast.parse(data, filename=str(path))  # bytes: honours the coding cookie and the BOM
        compile(data, str(path), "exec", dont_inherit=True)  # duplicate parameters etc.
    assert temp_leftovers(tmp_path) == []


@pytest.mark.parametrize("before", FIXTURE_BEFORES, ids=[p.parent.name for p in FIXTURE_BEFORES])
def test_engine_output_parses_and_is_a_fixed_point(before):
    """In memory: process() never returns invalid code, and its output has nothing left to change."""
    result = process(before)
    assert result.error is None
    if result.new is None:
        return
    ast.parse(result.new)
    again = process(before, data=result.new)
    assert again.error is None and again.new is None
    assert not any(f.fixable for f in again.findings), again.findings


# --------------------------------------------------------------------------------------------
# comments and formatting survive
# --------------------------------------------------------------------------------------------

COMMENTED = '''\
#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Module docstring: keep me."""
import torch  # trailing comment on an import
from torch.autograd import Function

x  =  1   # odd spacing survives
LONG = ("a very long string literal that goes on and on and on and on and on and on and on and on "
        "and continues on a second line")  # explained
mapping = {'a':1,
           'b' :  2}


# comment above the class
class GradReverse(Function):  # trailing on the class line
    # comment first in the class body
    """Class docstring."""

    def __init__(self, lambd):
        super().__init__()
        # comment inside __init__ travels into forward
        self.lambd = lambd  # trailing in init

    # comment above forward
    def forward(self, x):  # trailing on forward def
        out = x.view_as(x)   # odd   spacing in forward
        return (out
                )

    def backward(self, grad_output):
        # comment inside backward
        return grad_output.neg() * self.lambd
    # comment at the end of the class body


# comment after the class
def  helper( a ,b ):
    return  a+b  # untouched function


y = GradReverse(0.5)(torch.ones(2))  # trailing on the call line
z = helper(1,2)
# final comment
'''

# The lines the migration rewrites (the spans), and what the class looks like afterwards.
REWRITTEN = {
    "    def __init__(self, lambd):",
    "        super().__init__()",
    "        # comment inside __init__ travels into forward",  # moved with its statement
    "        self.lambd = lambd  # trailing in init",
    "    def forward(self, x):  # trailing on forward def",
    "    def backward(self, grad_output):",
    "        return grad_output.neg() * self.lambd",
    "y = GradReverse(0.5)(torch.ones(2))  # trailing on the call line",
}


def comments(data: bytes) -> list[str]:
    return [t.string for t in tokenize.tokenize(io.BytesIO(data).readline) if t.type == tokenize.COMMENT]


def is_subsequence(needles: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(n == h for h in it) for n in needles)


def test_comments_and_formatting_outside_rewritten_spans_survive(tmp_path):
    path = write(tmp_path, "commented.py", COMMENTED)
    proc = run_cli("--fix", "commented.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    old, new = COMMENTED.splitlines(), path.read_text().splitlines()

    # Everything above the class is byte-identical, and so is everything after it but the call.
    cls = old.index("class GradReverse(Function):  # trailing on the class line")
    assert new[: cls + 1] == old[: cls + 1]
    after = old.index("# comment after the class")
    tail_old, tail_new = old[after:], new[len(new) - len(old[after:]) :]
    assert [(o, n) for o, n in zip(tail_old, tail_new, strict=True) if o != n] == [
        (
            "y = GradReverse(0.5)(torch.ones(2))  # trailing on the call line",
            "y = GradReverse.apply(torch.ones(2), 0.5)  # trailing on the call line",
        ),
    ]

    # Inside the class, every line outside the rewritten spans is still there, in order.
    untouched = [line for line in old if line not in REWRITTEN and line.strip()]
    assert is_subsequence(untouched, new), sorted(set(untouched) - set(new))

    # Every comment survives, once (those on rewritten lines too; one moves with its statement):
    assert sorted(comments(COMMENTED.encode())) == sorted(comments(path.read_bytes()))
    fwd = new.index("    def forward(ctx, x, lambd):  # trailing on forward def")
    assert new[fwd - 1 : fwd + 3] == [
        "    @staticmethod",
        "    def forward(ctx, x, lambd):  # trailing on forward def",
        "        # comment inside __init__ travels into forward",
        "        ctx.lambd = lambd  # trailing in init",
    ]
    assert "        return grad_output.neg() * ctx.lambd, None" in new
    assert new.count("    @staticmethod") == 2
    assert "__init__(self" not in path.read_text()


# --------------------------------------------------------------------------------------------
# idempotence
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("before", FIXTURE_BEFORES, ids=[p.parent.name for p in FIXTURE_BEFORES])
def test_fix_twice_is_a_no_op(tmp_path, before):
    """The output of --fix is a fixed point: the second run writes nothing, its exit code is
    exactly 'are manual findings left', and --diff afterwards is empty."""
    path = write(tmp_path, "mod.py", before.read_bytes())
    first = run_cli("--fix", "mod.py", cwd=tmp_path)
    assert first.returncode in (0, 1), first.stderr
    os.utime(path, ns=(OLD_NS, OLD_NS))
    fixed, inode = path.read_bytes(), path.stat().st_ino

    second = run_cli("--fix", "--output-format", "json", "mod.py", cwd=tmp_path)
    doc = json.loads(second.stdout)
    assert doc["errors"] == [] and doc["changed_files"] == []
    assert [f for f in doc["findings"] if f["fixable"]] == []  # nothing fixable is left behind
    assert second.returncode == (1 if doc["findings"] else 0) == first.returncode
    assert path.read_bytes() == fixed
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == (OLD_NS, inode)

    diff = run_cli("--diff", "mod.py", cwd=tmp_path)
    assert diff.returncode == 0 and diff.stdout == ""
    assert temp_leftovers(tmp_path) == []


# --------------------------------------------------------------------------------------------
# files without legacy code are never written
# --------------------------------------------------------------------------------------------

NOT_LEGACY = {
    "clean.py": b"import os\n\nprint(os.getcwd())\n",
    "mentions_function.py": (
        b"import torch\n# The old Function API is gone; see torch.autograd.Function.\n"
        b"x  =  torch.ones(2)   # Variable was removed too\n"
    ),
    "modern_mixed_newlines_no_eol.py": (
        b"import torch\n\n\nclass Square(torch.autograd.Function):\r\n    @staticmethod\r\n"
        b"    def forward(ctx, x):\r\n        ctx.save_for_backward(x)\r\n        return x*x\r\n\r\n"
        b"    @staticmethod\r\n    def backward(ctx, g):\r\n        (x,) = ctx.saved_tensors\r\n"
        b"        return 2*x*g\r\n\r\n\r\ny = Square.apply(torch.ones(2))"
    ),
    "latin1_local_function.py": (
        b"# -*- coding: latin-1 -*-\n# r\xe9sum\xe9: no legacy Function here\n"
        b"import torch\n\n\nclass Function:  # a local class, not torch's\n    pass\n"
    ),
    "bom_modern.py": b"\xef\xbb\xbfimport torch\nfrom torch.autograd import Function  # modern use only\n",
}


def test_files_without_legacy_code_are_never_written(tmp_path):
    """Not even rewritten with identical bytes: same bytes, same mtime, same inode."""
    stats = {}
    for name, data in NOT_LEGACY.items():
        p = write(tmp_path, name, data)
        stats[name] = (p.stat().st_mtime_ns, p.stat().st_ino)
    write(tmp_path, "gr.py", GRAD_REVERSE)  # proves the run did write something
    proc = run_cli("--fix", ".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "gr.py").read_text() == GRAD_REVERSE_FIXED
    for name, data in NOT_LEGACY.items():
        p = tmp_path / name
        assert p.read_bytes() == data, name
        assert (p.stat().st_mtime_ns, p.stat().st_ino) == stats[name], name


# --------------------------------------------------------------------------------------------
# encoding, line endings, BOM
# --------------------------------------------------------------------------------------------


def test_latin1_file_keeps_its_encoding(tmp_path):
    header = b"# -*- coding: latin-1 -*-\n# caf\xe9 cr\xe8me\n"
    body = NUMPY_SQUARE.replace(
        "        return grad_output *", "        # d/dx x\xb2 = 2x\n        return grad_output *"
    )
    path = write(tmp_path, "lat.py", header + body.encode("latin-1"))
    proc = run_cli("--fix", "lat.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = path.read_bytes()
    assert data.startswith(header)
    assert b"        # d/dx x\xb2 = 2x\n" in data  # the latin-1 byte inside the class
    assert b"\xc3" not in data  # nothing was re-encoded as UTF-8
    text = data.decode("latin-1")
    assert "    @staticmethod\n    def forward(ctx, x):\n        ctx.x = x.detach().numpy()\n" in text
    ast.parse(data)
    assert run_cli("lat.py", cwd=tmp_path).returncode == 0


def test_crlf_file_stays_crlf_everywhere(tmp_path):
    """Inserted lines (`@staticmethod`, the moved __init__ body) use CRLF like the rest."""
    path = write(tmp_path, "crlf.py", GRAD_REVERSE.replace("\n", "\r\n"))
    proc = run_cli("--fix", "crlf.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = path.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n") == GRAD_REVERSE_FIXED.count("\n")
    assert data.count(b"\r") == data.count(b"\r\n")
    assert data == GRAD_REVERSE_FIXED.replace("\n", "\r\n").encode()


def test_mixed_line_endings_keep_their_own_on_untouched_lines(tmp_path):
    """A file whose lines end in both LF and CRLF: every line the rewrite leaves alone keeps its
    own ending; inserted lines take the first line's. The result parses and is a fixed point."""
    lines = GRAD_REVERSE.split("\n")
    mixed = "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines[:-1]))
    path = write(tmp_path, "mixed.py", mixed)
    assert run_cli("--fix", "mixed.py", cwd=tmp_path).returncode == 0
    data = path.read_bytes()
    ast.parse(data)
    fixed = GRAD_REVERSE_FIXED.split("\n")
    kept = [
        (i, line) for i, line in enumerate(lines[:-1]) if line.strip() and fixed.count(line) == lines.count(line) == 1
    ]
    assert len(kept) >= 4
    for i, line in kept:
        assert (line + ("\r\n" if i % 2 else "\n")).encode() in data, line
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert run_cli("mixed.py", cwd=tmp_path).returncode == 0


def test_bom_is_kept(tmp_path):
    bom = b"\xef\xbb\xbf"
    path = write(tmp_path, "bom.py", bom + GRAD_REVERSE.encode())
    proc = run_cli("--fix", "bom.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = path.read_bytes()
    assert data == bom + GRAD_REVERSE_FIXED.encode()  # exactly one BOM, at the start


def test_bom_and_crlf_together(tmp_path):
    bom = b"\xef\xbb\xbf"
    path = write(tmp_path, "both.py", bom + GRAD_REVERSE.replace("\n", "\r\n").encode())
    assert run_cli("--fix", "both.py", cwd=tmp_path).returncode == 0
    assert path.read_bytes() == bom + GRAD_REVERSE_FIXED.replace("\n", "\r\n").encode()


# --------------------------------------------------------------------------------------------
# files LibCST cannot reproduce are refused
# --------------------------------------------------------------------------------------------

FORM_FEED = GRAD_REVERSE.replace(
    "        return x.view_as(x)\n", "        y = x\n\x0c        return x.view_as(y)\n"
).encode()


def test_form_feed_file_is_an_error_and_left_untouched(tmp_path):
    """Valid Python that LibCST would silently alter must be refused, not 'fixed' with collateral damage."""
    compile(FORM_FEED, "ff.py", "exec")  # the file itself is fine for Python
    ff = write(tmp_path, "ff.py", FORM_FEED)
    write(tmp_path, "gr.py", GRAD_REVERSE)
    proc = run_cli("--fix", ".", cwd=tmp_path)
    assert proc.returncode == 2
    assert "ff.py:1:1: LibCST cannot reproduce this file byte for byte" in proc.stderr
    assert ff.read_bytes() == FORM_FEED and ff.stat().st_mtime_ns == OLD_NS
    assert (tmp_path / "gr.py").read_text() == GRAD_REVERSE_FIXED
    # the same error in the read-only modes, so --diff never shows a change --fix would refuse
    for mode in ((), ("--diff",)):
        again = run_cli(*mode, "ff.py", cwd=tmp_path)
        assert again.returncode == 2 and again.stdout == "" and "ff.py" in again.stderr


def test_form_feed_file_through_engine(tmp_path):
    result = process(write(tmp_path, "ff.py", FORM_FEED))
    assert result.error and "byte for byte" in result.error
    assert result.new is None and result.findings == []


# --------------------------------------------------------------------------------------------
# atomic writes: permissions, temporaries, failures
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o640, 0o755, 0o600], ids=oct)
def test_atomic_write_keeps_permissions_and_leaves_no_temporaries(tmp_path, mode):
    path = write(tmp_path, "gr.py", GRAD_REVERSE, mode=mode)
    other = write(tmp_path, "np_sq.py", NUMPY_SQUARE, mode=0o644)
    inode = path.stat().st_ino
    proc = run_cli("--fix", ".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert path.read_text() == GRAD_REVERSE_FIXED
    assert path.stat().st_ino != inode  # replaced by rename, not truncated and rewritten
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert stat.S_IMODE(other.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gr.py", "np_sq.py"]


@contextlib.contextmanager
def unwritable(path: Path):
    """Make `path` (a directory or a file) impossible to replace, for root too if we can."""
    if os.geteuid() != 0:
        if path.is_file():
            pytest.skip(
                "a read-only file in a writable directory can be replaced by rename; "
                "only an immutable file (chattr +i, needs root) cannot"
            )
        old = stat.S_IMODE(path.stat().st_mode)
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(old)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root: permissions do not stop writes, and chattr +i is unavailable")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


@pytest.mark.parametrize("target", ["directory", "file"])
def test_unwritable_file_is_an_error_and_other_files_are_still_fixed(tmp_path, target):
    ro = write(tmp_path, "ro/gr.py", GRAD_REVERSE)
    rw = write(tmp_path, "rw/np_sq.py", NUMPY_SQUARE)
    with unwritable(ro.parent if target == "directory" else ro):
        proc = run_cli("--fix", "--output-format", "json", ".", cwd=tmp_path)
        text = run_cli("--fix", "ro", cwd=tmp_path)
    assert proc.returncode == 2 and text.returncode == 2
    doc = json.loads(proc.stdout)
    assert [e["path"] for e in doc["errors"]] == ["ro/gr.py"]
    assert doc["errors"][0]["message"].startswith("ro/gr.py:1:1: cannot write: ")
    assert doc["changed_files"] == ["rw/np_sq.py"]
    assert {(f["path"], f["fixed"]) for f in doc["findings"]} == {("ro/gr.py", False), ("rw/np_sq.py", True)}
    assert "ro/gr.py:1:1: cannot write: " in text.stderr
    assert ro.read_text() == GRAD_REVERSE and ro.stat().st_mtime_ns == OLD_NS
    assert "NumpySquare.apply(" in rw.read_text()
    assert temp_leftovers(tmp_path) == []


def test_fix_through_a_symlink_writes_the_target(tmp_path):
    """Fixing `link.py -> real/ops.py` must migrate real/ops.py and keep link.py a symlink."""
    real = write(tmp_path, "real/ops.py", GRAD_REVERSE)
    link = tmp_path / "link.py"
    link.symlink_to(Path("real", "ops.py"))
    proc = run_cli("--fix", "link.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink()
    assert real.read_text() == GRAD_REVERSE_FIXED

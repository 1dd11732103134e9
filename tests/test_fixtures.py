"""The golden fixtures: exact output, findings, fixed points, and migrated code that runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import fixture_dirs

from autograd_migrate.engine import process


def _expected_findings(d: Path) -> list[tuple[int, str]]:
    lines = (d / "expect.txt").read_text().split("\n")
    return [(int(line.split()[0]), line.split()[1]) for line in lines if line.strip()]


def test_fixture_output_is_exact(fixture_dir: Path) -> None:
    """before -> after byte for byte; without after.py the file must not change at all."""
    result = process(fixture_dir / "before.py")
    assert result.error is None
    after = fixture_dir / "after.py"
    if after.exists():
        assert result.new is not None, "nothing was rewritten"
        assert result.new.decode() == after.read_text()
    else:
        assert result.new is None


UNSAFE = [d for d in fixture_dirs() if (d / "after_unsafe.py").exists()]


@pytest.mark.parametrize("fixture", UNSAFE, ids=lambda p: p.name)
def test_unsafe_fixture_output_is_exact(fixture: Path) -> None:
    """`after_unsafe.py`: what `--unsafe-fixes` makes of before.py; every fix it makes is unsafe-level
    (the class migrates together with its unsafe call site), and it is a fixed point."""
    result = process(fixture / "before.py", unsafe=True)
    assert result.error is None and result.new is not None
    assert result.new.decode() == (fixture / "after_unsafe.py").read_text()
    assert {f.applicability for f in result.findings if f.fixable} == {"unsafe"}
    again = process(fixture / "after_unsafe.py", unsafe=True)
    assert again.new is None and not any(f.fixable for f in again.findings)


def test_fixture_findings(fixture_dir: Path) -> None:
    result = process(fixture_dir / "before.py")
    assert [(f.line, f.code) for f in result.findings] == _expected_findings(fixture_dir)


def test_fixture_after_is_a_fixed_point(fixture_dir: Path) -> None:
    after = fixture_dir / "after.py"
    if not after.exists():
        pytest.skip("no after.py: the before file is the fixed point (checked above)")
    result = process(after)
    assert result.error is None
    assert result.new is None
    assert all(not f.fixable for f in result.findings), "a fixable finding survived the fix"


def test_every_fixture_kind_is_present() -> None:
    """The suite must keep migrate, negative and manual cases (issue 2: at least 20 pairs)."""
    dirs = fixture_dirs()
    migrated = [d for d in dirs if (d / "after.py").exists()]
    negative = [d for d in dirs if not (d / "after.py").exists() and not _expected_findings(d)]
    manual = [d for d in dirs if not (d / "after.py").exists() and _expected_findings(d)]
    assert len(migrated) >= 20 and len(negative) >= 3 and len(manual) >= 5


MIGRATED = sorted(d / name for d in fixture_dirs() for name in ("after.py", "after_unsafe.py") if (d / name).exists())


@pytest.mark.parametrize("migrated", MIGRATED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_migrated_fixture_runs_on_modern_torch(migrated: Path) -> None:
    """Each after.py imports and runs its demo (`.apply` forward + backward) on this torch,
    with deprecation warnings as errors: no legacy call or Variable survived."""
    pytest.importorskip("torch")
    proc = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", migrated.name],
        cwd=migrated.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]

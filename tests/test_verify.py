"""Verification: real legacy and migrated classes run side by side in worker subprocesses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "verify"
FIXTURES = ROOT / "fixtures"


def cli(*args: object, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograd_migrate", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def verdicts(proc: subprocess.CompletedProcess) -> dict[str, dict]:
    return {v["class"]: v for v in json.loads(proc.stdout)["verifications"]}


def test_correct_hand_migration_is_equivalent() -> None:
    """Renamed ctor parameters and reordered arithmetic are still the same computation."""
    proc = cli("verify", DATA / "legacy.py", DATA / "right.py", "--output-format", "json")
    found = verdicts(proc)
    assert {c: v["status"] for c, v in found.items()} == dict.fromkeys(
        ["Reverse", "WeightedSum", "ScaleDefault", "Normalise", "Shift", "HardScale"], "equivalent"
    ), proc.stdout
    assert "no default for `lambd` (callers must pass it)" in found["Reverse"]["detail"]
    assert "other constructor arguments (k=3.25" in found["HardScale"]["detail"]  # reordered by name
    assert proc.returncode == 0
    assert found["Shift"]["inputs_from"].startswith("harvested: __main__ block")
    assert found["Reverse"]["gradcheck_before"] == found["Reverse"]["gradcheck_after"] == "failed"
    assert "not caused by the migration" in found["Reverse"]["detail"]
    assert found["WeightedSum"]["gradcheck_before"] == "passed"


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        ("Reverse", "gradient of input `x`"),  # dropped minus sign
        ("WeightedSum", "gradient of input `x`"),  # swapped gradients
        ("ScaleDefault", "with the constructor defaults"),  # default changed 2.0 -> 3.0
        ("Normalise", "gradient of input `x`"),  # state read from the wrong attribute
        ("Shift", "incorrect number of gradients"),  # missing None
        ("HardScale", "with other constructor arguments (k=3.25"),  # the harvested value hard-coded
    ],
)
def test_subtly_wrong_migrations_are_different(cls: str, expected: str, wrong_run) -> None:
    verdict = wrong_run[cls]
    assert verdict["status"] == "different"
    assert expected in verdict["detail"]


@pytest.fixture(scope="module")
def wrong_run() -> dict[str, dict]:
    proc = cli("verify", DATA / "legacy.py", DATA / "wrong.py", "--output-format", "json")
    assert proc.returncode == 1, proc.stderr
    return verdicts(proc)


def test_runnable_fixtures_verify_equivalent(tmp_path: Path) -> None:
    """Every class the tool migrates in the fixtures (unsafe fixes included) computes what the
    original computed."""
    for d in FIXTURES.iterdir():
        if (d / "after.py").exists() or (d / "after_unsafe.py").exists():
            shutil.copy(d / "before.py", tmp_path / f"{d.name}.py")
    proc = cli(tmp_path, "--diff", "--unsafe-fixes", "--verify", "--output-format", "json")
    found = json.loads(proc.stdout)["verifications"]
    assert len(found) >= 25
    assert {v["status"] for v in found} == {"equivalent"}, [v for v in found if v["status"] != "equivalent"]
    fft = next(v for v in found if v["class"] == "FFTMagnitude")
    assert fft["gradcheck_before"] == fft["gradcheck_after"] == "failed"
    assert all(v["inputs_from"] for v in found)
    assert any(v["class"] == "ScaleGradient" for v in found)  # the unsafe fixture's class
    warm = next(v for v in found if v["class"] == "WarmReverse")  # AGM011: a class split for its state
    assert "three calls of one instance agree" in warm["detail"]


def test_a_split_class_that_loses_state_between_calls_is_different(tmp_path: Path) -> None:
    """The first call of a fresh instance agrees; only the second shows the state is lost."""
    fixture = FIXTURES / "stateful_instance"
    wrong = (fixture / "after_unsafe.py").read_text()
    wrong = wrong.replace("ctx.state = state\n", "ctx.state = state = copy.copy(state)\n")
    (tmp_path / "wrong.py").write_text("import copy\n" + wrong)
    proc = cli("verify", fixture / "before.py", tmp_path / "wrong.py", "--output-format", "json")
    (found,) = json.loads(proc.stdout)["verifications"]
    assert found["status"] == "different" and found["detail"].startswith("call 2 of one instance"), found


def test_unruly_classes_are_reported_and_the_run_goes_on() -> None:
    proc = cli(
        "verify",
        DATA / "unruly_legacy.py",
        DATA / "unruly_migrated.py",
        "--verify-timeout",
        "8",
        "--output-format",
        "json",
        timeout=300,
    )
    found = verdicts(proc)
    assert proc.returncode == 1
    assert found["Hangs"]["status"] == "error" and "timed out after 8 s" in found["Hangs"]["detail"]
    assert found["Crashes"]["status"] == "error" and "worker process died" in found["Crashes"]["detail"]
    assert found["Exits"]["status"] == "error" and "sys.exit(4)" in found["Exits"]["detail"]
    assert found["Fine"]["status"] == "equivalent"


def test_fix_verify_keeps_a_disproved_file_and_exits_1(tmp_path: Path) -> None:
    """Hidden global state makes the two sides differ: the file must not be written."""
    pkg = tmp_path / "stateful_pkg"
    shutil.copytree(DATA / "stateful_pkg", pkg)
    shutil.copy(DATA / "stateful_counter.py", tmp_path)
    before = (pkg / "ops.py").read_bytes()
    proc = cli(pkg, "--fix", "--verify", "--output-format", "json")
    found = verdicts(proc)
    assert found["CountedScale"]["status"] == "different"
    assert found["PlainDouble"]["status"] == "equivalent"  # the package-relative import worked
    assert proc.returncode == 1
    assert (pkg / "ops.py").read_bytes() == before
    assert json.loads(proc.stdout)["changed_files"] == []


def test_fix_verify_writes_equivalent_migrations(tmp_path: Path) -> None:
    target = tmp_path / "ops.py"
    shutil.copy(FIXTURES / "grad_reverse_module" / "before.py", target)
    proc = cli(target, "--fix", "--verify")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert target.read_text() == (FIXTURES / "grad_reverse_module" / "after.py").read_text()
    assert "GradReverse: equivalent" in proc.stdout
    assert "Verified 1 class: 1 equivalent." in proc.stderr


def test_hints_come_first(tmp_path: Path) -> None:
    """A pyproject hint beats what could be harvested or probed, and the report says so."""
    shutil.copy(DATA / "legacy.py", tmp_path / "legacy.py")
    (tmp_path / "pyproject.toml").write_text(
        '[[tool.autograd-migrate.verify]]\nclass = "legacy.py::WeightedSum"\ninputs = [[2, 5], [2, 5]]\n'
    )
    proc = cli(tmp_path / "legacy.py", "--diff", "--verify", "--output-format", "json")
    found = verdicts(proc)
    assert found["WeightedSum"]["inputs_from"] == "hint: pyproject.toml"
    assert found["WeightedSum"]["status"] == "equivalent"


def test_verify_needs_diff_or_fix() -> None:
    proc = cli(DATA / "legacy.py", "--verify")
    assert proc.returncode == 2 and "--verify goes with --diff or --fix" in proc.stderr


def test_without_torch_verify_names_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from autograd_migrate.cli import main\n"
        f"sys.exit(main([{str(DATA / 'legacy.py')!r}, '--diff', '--verify']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "autograd-migrate[verify]" in proc.stderr


def test_a_path_named_verify_is_reachable(tmp_path: Path) -> None:
    (tmp_path / "verify").mkdir()
    shutil.copy(DATA / "legacy.py", tmp_path / "verify" / "legacy.py")
    proc = cli("./verify", cwd=tmp_path)
    assert proc.returncode == 1 and "AGM001" in proc.stdout


def test_an_original_that_calls_its_legacy_class_at_import_still_loads(tmp_path: Path) -> None:
    """Scripts run their top-level code on import; legacy calls there must work in the original."""
    script = tmp_path / "script_top_level.py"
    shutil.copy(DATA / "script_top_level.py", script)
    proc = cli(script, "--diff", "--verify", "--output-format", "json")
    assert verdicts(proc)["Double"]["status"] == "equivalent", proc.stdout

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def fixture_dirs() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if (p / "before.py").exists())


@pytest.fixture(params=fixture_dirs(), ids=lambda p: p.name)
def fixture_dir(request) -> Path:
    return request.param


def cli(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The CLI in a fresh interpreter."""
    command = [sys.executable, "-m", "autograd_migrate", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=600)

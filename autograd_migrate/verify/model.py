"""What crosses the process boundary: jobs for the workers, verifications back.

Plain JSON-able dataclasses: the parent never imports torch, the worker never imports LibCST.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

STATUSES = ("equivalent", "different", "skipped", "error")


@dataclass
class Candidate:
    """One way to call a class: tensor inputs and constructor arguments, as source text.

    `inputs` are Python expressions built from torch factories and literals
    (`torch.randn(4, 3)`) or shapes (`[4, 3]`); the worker evaluates them and makes floating
    tensors float64 leaves that require grad. `args`/`kwargs` are literal constructor
    arguments. `source` says where the candidate came from, for the report."""

    source: str
    inputs: list[str]
    args: list[str] = field(default_factory=list)
    kwargs: dict[str, str] = field(default_factory=dict)


@dataclass
class Job:
    """Verify one class: the legacy module and its migration, loaded side by side."""

    path: str  # the legacy file
    migrated_path: str  # where the migration lives (may be the same path)
    migrated_source: str  # the migrated text (not necessarily written anywhere)
    legacy_source: str
    module: str  # dotted name both modules are loaded under
    sys_path: str  # directory that makes `module` (and its package) importable
    cls: str
    candidates: list[Candidate] = field(default_factory=list)
    probe: bool = True  # fall back to automatic probing when no candidate runs
    timeout: float = 60.0
    # other modules the run migrates, by dotted name: [path, legacy source, migrated source]
    siblings: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Job:
        data = dict(data)
        data["candidates"] = [Candidate(**c) for c in data.get("candidates", [])]
        return cls(**data)


@dataclass
class Verification:
    path: str
    cls: str
    status: str  # one of STATUSES
    inputs_from: str = ""
    detail: str = ""
    gradcheck_before: str = ""
    gradcheck_after: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "class": self.cls,
            "status": self.status,
            "inputs_from": self.inputs_from,
            "detail": self.detail,
            "gradcheck_before": self.gradcheck_before,
            "gradcheck_after": self.gradcheck_after,
            "seconds": round(self.seconds, 3),
        }

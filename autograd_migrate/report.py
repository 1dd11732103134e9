"""What a run prints: findings, diffs, a summary line, or one JSON document."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import TextIO

from autograd_migrate.engine import FileResult
from autograd_migrate.verify.model import STATUSES, Verification

SCHEMA_VERSION = 1


@dataclass
class RunReport:
    mode: str  # "check" | "diff" | "fix"
    results: list[FileResult]
    written: list[FileResult] = field(default_factory=list)  # --fix: files actually replaced
    verifications: list[Verification] | None = None  # --verify
    warnings: list[str] = field(default_factory=list)  # about files outside the paths of the run

    def disproved(self) -> set[str]:
        """Files with a class whose migration computes something else: never written."""
        return {v.path for v in self.verifications or () if v.status == "different"}

    @property
    def errors(self) -> list[FileResult]:
        return [r for r in self.results if r.error]

    @property
    def changed(self) -> list[FileResult]:
        return [r for r in self.results if r.new is not None]

    def fixed(self, result: FileResult) -> bool:
        return self.mode == "fix" and result in self.written

    def remaining(self) -> list[tuple[FileResult, object]]:
        """Findings still in the code after this run."""
        return [(r, f) for r in self.results for f in r.findings if not (self.fixed(r) and f.fixable)]

    def exit_code(self) -> int:
        if self.errors:
            return 2
        if self.disproved() or any(v.status == "error" for v in self.verifications or ()):
            return 1
        if self.mode == "diff":
            return 1 if self.changed else 0
        return 1 if self.remaining() else 0


def unified_diff(result: FileResult) -> str:
    old = result.old.decode(result.encoding, errors="replace").splitlines(keepends=True)
    new = (result.new or b"").decode(result.encoding, errors="replace").splitlines(keepends=True)
    name = str(result.path)
    lines = difflib.unified_diff(old, new, name, name)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('s') else 's'}"


def write_text(report: RunReport, out: TextIO, err: TextIO) -> None:
    shown = report.remaining() if report.mode == "fix" else [(r, f) for r in report.results for f in r.findings]
    if report.mode == "diff":
        for result in report.changed:
            out.write(unified_diff(result))
        listing, shown = err, [(r, f) for r, f in shown if not f.fixable]
    else:
        listing = out
    for result, f in shown:
        mark = "[*] " if f.fixable and report.mode == "check" else ""
        listing.write(f"{result.path}:{f.line}:{f.column}: {f.code} {mark}{f.message}\n")
    if report.verifications is not None:
        write_verifications(report.verifications, listing)
    for result in report.errors:
        err.write(f"{result.error}\n")
    for warning in report.warnings:
        err.write(f"warning: {warning}\n")
    err.write(_summary(report) + "\n")
    if report.verifications is not None:
        err.write(verification_summary(report.verifications) + "\n")


def write_verifications(verifications: list[Verification], out: TextIO) -> None:
    for v in verifications:
        facts = [f"inputs: {v.inputs_from}"] if v.inputs_from else []
        if v.gradcheck_before or v.gradcheck_after:
            facts.append(f"gradcheck before: {v.gradcheck_before}, after: {v.gradcheck_after}")
        facts += [v.detail] if v.detail else []
        out.write(f"{v.path}: {v.cls}: {v.status}" + (f" ({'; '.join(facts)})" if facts else "") + "\n")


def verification_summary(verifications: list[Verification]) -> str:
    counts = {s: sum(v.status == s for v in verifications) for s in STATUSES}
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing to verify"
    return f"Verified {_plural(len(verifications), 'class')}: {parts}."


def _summary(report: RunReport) -> str:
    findings = [f for r in report.results for f in r.findings]
    fixable = sum(f.fixable for f in findings)
    hidden = sum(not f.fixable and f.applicability == "unsafe" for f in findings)
    manual = len(findings) - fixable - hidden
    unsafe = f", {hidden} more with --unsafe-fixes" if hidden else ""
    errors = f"; {_plural(len(report.errors), 'file')} could not be processed" if report.errors else ""
    if report.mode == "fix":
        files = len(report.written)
        return (
            f"Fixed {_plural(fixable if files else 0, 'finding')} in {_plural(files, 'file')}; "
            f"{len(report.remaining())} remaining ({f'{manual} manual{unsafe}' if hidden else 'manual'}){errors}."
        )
    if report.mode == "diff":
        return (
            f"Would fix {_plural(fixable, 'finding')} in {_plural(len(report.changed), 'file')}; "
            f"{manual} need manual work{unsafe}{errors}."
        )
    if not findings:
        return f"No findings{errors}." if errors else "All checks passed!"
    return f"Found {_plural(len(findings), 'finding')} ({fixable} fixable with --fix{unsafe}, {manual} manual){errors}."


def write_json(report: RunReport, out: TextIO) -> None:
    doc = {
        "version": SCHEMA_VERSION,
        "mode": report.mode,
        "findings": [
            {
                "path": str(r.path),
                "line": f.line,
                "column": f.column,
                "code": f.code,
                "message": f.message,
                "fixable": f.fixable,
                "applicability": f.applicability,
                "fixed": report.fixed(r) and f.fixable,
            }
            for r in report.results
            for f in r.findings
        ],
        "errors": [{"path": str(r.path), "message": r.error} for r in report.errors],
        "warnings": report.warnings,
        "changed_files": [str(r.path) for r in (report.written if report.mode == "fix" else report.changed)],
    }
    if report.mode == "diff":
        doc["diff"] = "".join(unified_diff(r) for r in report.changed)
    if report.verifications is not None:
        doc["verifications"] = [v.to_json() for v in report.verifications]
    json.dump(doc, out, indent=2)
    out.write("\n")

"""Turn the classes a run migrates (or a hand migration) into jobs for the workers.

Runs in the parent: it reads sources and plans and harvests inputs statically, never
importing torch or the user's code.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst

from autograd_migrate.analyse.classes import find_function_classes
from autograd_migrate.config import load_config
from autograd_migrate.discover import module_name
from autograd_migrate.engine import FileResult, process
from autograd_migrate.verify.inputs import candidates
from autograd_migrate.verify.model import Job


def jobs_for(
    result: FileResult,
    classes: list[cst.ClassDef],
    migrated_path: Path,
    migrated_source: str,
    timeout: float | None,
    siblings: dict[str, list[str]] | None = None,
) -> list[Job]:
    """One job per class; `result` must come from `process(..., keep=True)`."""
    config = load_config(result.path)
    module, _, sys_path = module_name(result.path)
    legacy_source = result.old.decode(result.encoding)
    top = module.split(".")[0]
    siblings = {k: v for k, v in (siblings or {}).items() if k.split(".")[0] == top}
    return [
        Job(
            path=str(result.path),
            migrated_path=str(migrated_path),
            migrated_source=migrated_source,
            legacy_source=legacy_source,
            module=module,
            sys_path=sys_path,
            cls=node.name.value,
            candidates=candidates(result.context, node, config, result.path),
            timeout=timeout or config.verify_timeout,
            siblings=siblings,
        )
        for node in classes
    ]


def jobs_for_run(results: list[FileResult], timeout: float | None) -> list[Job]:
    """A class is verified with the other modules of its package in the same state as its own
    (a subclass elsewhere needs its migrated base)."""
    changed = [r for r in results if r.new is not None and r.analysis is not None]
    by_root: dict[str, dict[str, list[str]]] = {}  # a module's siblings share its import root
    for r in changed:
        module, _, root = module_name(r.path)
        by_root.setdefault(root, {})[module] = [str(r.path), r.old.decode(r.encoding), r.new.decode(r.encoding)]
    jobs: list[Job] = []
    for result in changed:
        classes = [plan.node for plan in [*result.analysis.classes, *result.analysis.stateful]]
        siblings = by_root[module_name(result.path)[2]]
        jobs += jobs_for(result, classes, result.path, result.new.decode(result.encoding), timeout, siblings)
    return jobs


def jobs_for_pair(legacy: Path, migrated: Path, timeout: float | None) -> tuple[list[Job], FileResult]:
    """`autograd-migrate verify LEGACY MIGRATED`: every legacy class (also those the tool would
    not migrate itself), matched by name."""
    result = process(legacy, keep=True)
    if result.error or result.context is None:
        return [], result
    classes = [fc.node for fc in find_function_classes(result.context) if fc.legacy]
    source = migrated.read_bytes().decode(_encoding(migrated))
    return jobs_for(result, classes, migrated, source, timeout), result


def _encoding(path: Path) -> str:
    import tokenize

    with path.open("rb") as fh:
        return tokenize.detect_encoding(fh.readline)[0]

"""One file through the pipeline: pre-filter -> parse -> analyse -> rewrite -> checked bytes."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from autograd_migrate.discover import (
    may_contain_legacy,
    mentions_any,
    mentions_legacy,
    module_name,
    naming_files,
    outside_modules,
    uncovered_roots,
)
from autograd_migrate.index import (
    Aliases,
    ClassSummary,
    ProjectIndex,
    Recorded,
    answers_same,
    namespace_aliases,
    shown,
    spaces_of,
)
from autograd_migrate.rules import Finding

if TYPE_CHECKING:
    from autograd_migrate.analyse import ModuleContext
    from autograd_migrate.analyse.model import ModuleAnalysis
    from autograd_migrate.parallel import Shards


@dataclass
class FileResult:
    path: Path
    findings: list[Finding] = field(default_factory=list)
    old: bytes = b""
    new: bytes | None = None  # the migrated file, when it differs
    error: str | None = None
    encoding: str = "utf-8"
    context: ModuleContext | None = None  # kept with `keep=True`, for verification
    analysis: ModuleAnalysis | None = None
    summaries: list[ClassSummary] = field(default_factory=list)  # its Function classes, for the index
    external_blockers: dict[str, list[tuple[int, str, str, str]]] = field(default_factory=dict)
    unsafe_uses: set[str] = field(default_factory=set)
    inlined: set[str] = field(default_factory=set)  # module-level instances it inlines ("module.name")


_MAX_ROUNDS = 8
_WORTH_A_WORKER = 16  # fewer files to analyse are done here: starting workers costs more


def process_project(
    paths: list[Path], keep: bool = False, jobs: int = 1, unsafe: bool = False, given: list[Path] | None = None
) -> tuple[list[FileResult], list[str]]:
    """The files as one project: a first pass indexes every Function class by qualified name;
    then every file that can refer to a legacy one is analysed with the index, so call sites
    in other modules are planned too. A call site that cannot be rewritten blocks its class
    everywhere, which can make more call sites unfixable: the rounds go on until nothing moves.

    Modules of the project that the files import but the paths `given` on the command line
    leave out are read too, for their definitions only: they are never written, and their
    findings are not reported. The warnings name the files outside the paths that mention a
    class the run migrates: their call sites are not rewritten."""
    # The rounds analyse the same files again with a better index; analysis never changes a
    # parse, so each file is parsed once per run, here or in the worker that owns it.
    parsed: dict[tuple[str, bytes], _Kept] = {}
    texts = _Texts()
    roots = uncovered_roots(paths, paths if given is None else given)  # none: the paths hold the project
    outside = {str(p): _shown(p) for p in outside_modules(paths)} if roots else {}
    files = [*paths, *map(Path, outside)]
    shards = None
    if jobs > 1:
        from autograd_migrate.parallel import Shards  # a clean tree never starts a worker

        shards = Shards(jobs)
    try:
        results, index = _rounds(paths, files, outside, keep, unsafe, parsed, texts, shards)
    finally:
        if shards is not None:
            shards.close()
    return results, _left_outside(roots, results, index)


def _left_outside(roots: list[str], results: list[FileResult], index: ProjectIndex) -> list[str]:
    """Files outside the paths that name a class this run migrates (a subdirectory run)."""
    migrated = {
        s.name
        for s in index.classes.values()
        if s.legacy and s.migratable and s.qualified not in index.blocked and not s.outside
    }
    if not (roots and migrated and any(r.new is not None for r in results)):
        return []
    named = naming_files(roots, {os.path.abspath(r.path) for r in results}, migrated)
    notes = []
    for name, found in sorted(named.items()):
        shown = ", ".join(_shown(p) for p in found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        notes.append(
            f"files outside the paths of this run name `{name}`, which it migrates ({shown}): "
            "call sites there are not rewritten; run on the whole tree"
        )
    return notes


def _rounds(
    paths: list[Path],
    files: list[Path],
    outside: dict[str, str],
    keep: bool,
    unsafe: bool,
    parsed: dict,
    texts: _Texts,
    shards: Shards | None,
) -> tuple[list[FileResult], ProjectIndex]:
    """`files`: the paths, then the modules outside them (`outside`: how to show those)."""
    index = ProjectIndex()
    ahead = _Ahead(files, texts)
    results = process_all(files, texts, shards, index, parsed, unsafe, meanwhile=ahead.run)
    index.classes = _summaries(results, outside)
    if any(s.legacy for s in index.classes.values()):
        index.spaces = ahead.spaces()
        if index.spaces:  # the first pass again, with the roots kept apart
            results = process_all(files, texts, shards, index, parsed, unsafe)
            index.classes = _summaries(results, outside)
        index.names = frozenset(index.legacy_names())
        read = ((p, texts.read(p).old) for p in files)
        holders = ((p, d) for p, d in read if p.name == "__init__.py" or texts.names(p, d, index.names))
        index.aliases = {**namespace_aliases(files, index.spaces), **ahead.aliases.collect(holders, index)}
        index.names = frozenset(index.legacy_names())  # with the names the aliases give
        checked: set[str] = set()  # module-level names found not to be imported elsewhere
        for _ in range(_MAX_ROUNDS):
            results = process_all(files, texts, shards, index, parsed, unsafe)
            summaries = _summaries(results, outside)
            blocked = {
                qualified: _held_back(r.path, found)
                for r in results
                if str(r.path) not in outside
                for qualified, found in r.external_blockers.items()
                if qualified not in index.blocked
            }
            unsafe_uses = {q for r in results for q in r.unsafe_uses}
            inlined = {q: r.path for r in results for q in r.inlined if q not in checked | index.exported}
            exported = _imported_elsewhere(inlined, files, texts)
            checked |= inlined.keys() - exported
            if not blocked and summaries == index.classes and unsafe_uses <= index.unsafe and not exported:
                break
            index.classes = summaries
            index.blocked.update(blocked)
            index.unsafe |= unsafe_uses
            index.exported |= exported
            index.names = frozenset(index.legacy_names())  # subclasses found elsewhere are legacy too
    if keep:
        return process_all(paths, texts, None, index, parsed, unsafe, keep=True), index
    return [r for r in results if str(r.path) not in outside], index


class _Ahead:
    """Work for the later rounds that needs no result of the first: done while the first
    round's workers run, or (one process, or the first round found no legacy class: nothing
    to wait for) when a later round needs it."""

    def __init__(self, files: list[Path], texts: _Texts) -> None:
        self.files, self.texts = files, texts
        self.aliases = Aliases()
        self._spaces: dict[str, str] | None = None

    def spaces(self) -> dict[str, str]:
        if self._spaces is None:
            self._spaces = spaces_of(self.files)
        return self._spaces

    def run(self) -> None:
        for path in self.files:
            if path.name == "__init__.py" and (data := self.texts.read(path).old):
                self.aliases.read(path, data, self.spaces())


def _imported_elsewhere(inlined: dict[str, Path], files: list[Path], texts: _Texts) -> set[str]:
    """The module-level instances ("module.name": the file that binds it) that another file of
    the run may import: one that names the instance and its module, or a package whose
    `__init__.py` names the module (a re-export). The test is on the text, so it errs towards
    keeping a name."""
    found = set()
    for qualified, home in inlined.items():
        module, name = shown(qualified).rpartition(".")[0].rpartition(".")[2], qualified.rpartition(".")[2]
        spellings = {module} | {
            p.parent.name
            for p in files
            if p.name == "__init__.py" and mentions_any(texts.read(p).old, frozenset({module}))
        }
        for path in files:
            data = texts.read(path).old if path != home else b""
            if mentions_any(data, frozenset({name})) and mentions_any(data, frozenset(spellings)):
                found.add(qualified)
                break
    return found


def _summaries(results: list[FileResult], outside: dict[str, str]) -> dict[str, ClassSummary]:
    return {
        s.qualified: replace(s, outside=outside[str(r.path)]) if str(r.path) in outside else s
        for r in results
        for s in r.summaries
    }


def _shown(path: Path) -> str:
    """A path as the report shows it: relative to the working directory where it can be."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _held_back(path: Path, found: list[tuple[int, str, str, str]]) -> tuple[str, str]:
    """Why call sites in `path` hold a class back, and the level of the fix that would not."""
    (line, code, _, _), *_ = found
    if all(level == "unsafe" for *_, level in found):
        return f"its call site at {path}:{line} is an unsafe fix ({code})", "unsafe"
    return f"its call site at {path}:{line} cannot be rewritten ({code})", "manual"


def process_all(
    paths: list[Path],
    texts: _Texts,
    shards: Shards | None,
    index: ProjectIndex,
    parsed: dict,
    unsafe: bool,
    keep: bool = False,
    meanwhile: Callable[[], None] | None = None,
) -> list[FileResult]:
    """Every file, in the order given, whatever the workers. Files the text test lets through
    are analysed by the `shards` workers; with `keep` (a parse does not cross processes) here.
    `meanwhile` runs while the workers work, if they do."""
    results = []
    for path in paths:
        result = texts.read(path)
        if result.error is None and not (texts.legacy(path, result.old) or texts.names(path, result.old, index.names)):
            result.old = b""  # done with: only a diff would need it
        results.append(result)
    pending = [i for i, r in enumerate(results) if r.old]
    if shards is not None and not keep and (len(pending) >= _WORTH_A_WORKER or shards.workers):
        work = [(i, results[i].path, results[i].old) for i in pending]
        done = shards.run(work, index, unsafe, parsed, meanwhile)
    else:
        done = [process(results[i].path, results[i].old, keep, index, parsed, unsafe) for i in pending]
    for i, result in zip(pending, done, strict=True):
        results[i] = result
    return results


class _Texts:
    """The bytes of a project run's files, read once for all its rounds, and what the text test
    says of them. Past a budget, files are read again each time instead: a huge tree is not
    held in memory."""

    _BUDGET = 16 << 20  # a research repository holds a few MB of Python; torch itself, 46 MB

    def __init__(self) -> None:
        self._kept: dict[Path, bytes] = {}
        self._size = 0
        self._legacy: dict[Path, bool] = {}
        self._named: dict[Path, tuple[frozenset[str], bool]] = {}

    def legacy(self, path: Path, data: bytes) -> bool:
        """The text test (discover.mentions_legacy)."""
        if path not in self._legacy:
            self._legacy[path] = mentions_legacy(data)
        return self._legacy[path]

    def names(self, path: Path, data: bytes, names: frozenset[str]) -> bool:
        """Whether the file names one of `names` (the last ones asked about are remembered)."""
        if path not in self._named or (self._named[path][0] is not names and self._named[path][0] != names):
            self._named[path] = (names, mentions_any(data, names))
        return self._named[path][1]

    def read(self, path: Path) -> FileResult:
        if path in self._kept:
            return FileResult(path, old=self._kept[path])
        result = _read(path)
        if result.error is None and self._size + len(result.old) <= self._BUDGET:
            self._kept[path] = result.old
            self._size += len(result.old)
        return result


def _read(path: Path) -> FileResult:
    result = FileResult(path)
    try:
        result.old = path.read_bytes()
    except OSError as exc:
        result.error = f"{path}:1:1: cannot read: {exc.strerror or exc}"
    return result


def _worth_parsing(data: bytes, index: ProjectIndex | None) -> bool:
    """The text test and the parser gate, or a legacy class name of the index."""
    if may_contain_legacy(data):
        return True
    return index is not None and mentions_any(data, index.names)


def _superseded(index: ProjectIndex | None, result: FileResult) -> bool:
    """The first pass of a project run, over a file that defines a legacy class: a later round
    makes its rewrite with the index (keeping this analysis if the index changes nothing for
    it), so one made now would be thrown away."""
    return index is not None and not index.classes and any(s.legacy for s in result.summaries)


class _Kept:
    """A file's parse, kept across the rounds of a project run with its last analysis and the
    index answers that analysis was made with (index.Recorded): a round whose index gives the
    same answers gets the same analysis without redoing it."""

    def __init__(self, ctx: ModuleContext) -> None:
        self.ctx = ctx
        self._last: tuple | None = None  # (module, package, unsafe, answers, analysis)

    def analysis(self, name: str, package: str, root: str, index: ProjectIndex | None, unsafe: bool) -> ModuleAnalysis:
        from autograd_migrate.analyse import Place, analyse

        if index is None:
            return analyse(self.ctx, None, unsafe)
        space = index.space(root)
        module, package = space + name, space + package
        if self._last is not None:
            *asked, answers, analysis = self._last
            if asked == [module, package, unsafe] and answers_same(index, answers):
                return analysis
        recorded = Recorded(index)
        analysis = analyse(self.ctx, Place(module, package, recorded, space), unsafe)
        self._last = (module, package, unsafe, recorded.answers, analysis)
        return analysis


def process(
    path: Path,
    data: bytes | None = None,
    keep: bool = False,
    index: ProjectIndex | None = None,
    parsed: dict | None = None,
    unsafe: bool = False,
) -> FileResult:
    """Never raises: a file that cannot be handled becomes a FileResult with an error.
    `parsed` keeps parses across the rounds of a project run (same path and content);
    `unsafe` makes the unsafe fixes too."""
    result = _read(path) if data is None else FileResult(path, old=data)
    if result.error:
        return result
    data = result.old
    if not _worth_parsing(data, index):
        result.old = b""
        return result
    # LibCST is imported only for files that pass the pre-filter: a clean tree never pays for it.
    from autograd_migrate.analyse import ModuleContext
    from autograd_migrate.rewrite import rewrite
    from autograd_migrate.source import SourceError, parse, render

    try:
        name, package, root = module_name(path)
        kept = parsed.get((str(path), data)) if parsed is not None else None
        if kept is None:
            kept = _Kept(ModuleContext(*parse(path, data), package=package))
            if parsed is not None:
                parsed[(str(path), data)] = kept
        ctx = kept.ctx
        result.encoding = ctx.module.encoding
        analysis = kept.analysis(name, package, root, index, unsafe)
        result.findings = analysis.findings
        result.summaries, result.external_blockers = analysis.summaries, analysis.external_blockers
        result.unsafe_uses, result.inlined = analysis.unsafe_uses, analysis.inlined
        if keep:
            result.context, result.analysis = ctx, analysis
        if analysis.has_fixes and not _superseded(index, result):
            new = render(path, rewrite(ctx, analysis))
            result.new = new if new != data else None
    except SourceError as exc:
        result.error = str(exc)
    except RecursionError:
        result.error = f"{path}:1:1: the file is nested too deeply to analyse"
    except Exception as exc:  # a bug of ours must not stop the other files
        where = traceback.extract_tb(exc.__traceback__)[-1]
        result.error = (
            f"{path}:1:1: internal error ({type(exc).__name__}: {exc} at "
            f"{Path(where.filename).name}:{where.lineno}); file left untouched, please report this"
        )
    if result.error:
        result.findings, result.new = [], None
    if result.new is None and not keep:
        result.old = b""  # only a diff needs the original; a large tree must not pile them up
    return result

"""Decide what is legacy in one module and how it migrates, without changing anything."""

from __future__ import annotations

from dataclasses import dataclass, replace

import libcst as cst

from autograd_migrate import patterns as m
from autograd_migrate.analyse.calls import SiteAnalysis, waits_for_unsafe
from autograd_migrate.analyse.classes import FunctionClass, block_related, find_function_classes, plan_classes
from autograd_migrate.analyse.context import ModuleContext
from autograd_migrate.analyse.model import HeldPlan, ModuleAnalysis, ModuleInstancePlan
from autograd_migrate.analyse.project import ExternalClass, Outside, ambiguous_imports, external_uses, summarize
from autograd_migrate.analyse.stateful import needed_elsewhere, plan_stateful, stateful_uses
from autograd_migrate.analyse.variables import analyse_variables
from autograd_migrate.index import ProjectIndex, Recorded
from autograd_migrate.rules import (
    Finding,
    LegacyFunction,
    MarkSharedStorage,
    SavedVariables,
    StatefulInstance,
    Unsupported,
)
from autograd_migrate.syntax import find

__all__ = ["ModuleContext", "Place", "analyse"]


@dataclass(frozen=True)
class Place:
    """Where a module sits in the project, for the call sites of classes defined elsewhere."""

    module: str
    package: str
    index: ProjectIndex | Recorded
    space: str = ""  # ProjectIndex.spaces: the module's root holds modules another root holds too


def analyse(ctx: ModuleContext, place: Place | None = None, unsafe: bool = False) -> ModuleAnalysis:
    """`unsafe`: plan the unsafe fixes too (`--unsafe-fixes`)."""
    result = ModuleAnalysis()
    if not ctx.imports.imports_torch() and place is None:
        return result
    outside = Outside(ctx, place) if place is not None else None
    classes = find_function_classes(ctx, outside and outside.base)
    others = outside.subclasses(classes) if outside else []
    plan_classes(ctx, classes, others)
    held_back: dict[FunctionClass, Finding] = {}  # blocked by a call site in another module
    for fc in classes if place is not None else ():
        blocked = place.index.blocked_by(f"{place.module}.{fc.name}")
        if blocked is not None:
            reason, level = blocked
            held_back[fc] = Finding.of(
                Unsupported, ctx.pos(fc.node.name), applicability=level, cls=fc.name, reason=reason
            )
            if fc.plan is not None:
                fc.plan = None
                fc.blockers.append(held_back[fc])
    constructed = {call.func.value for call in ctx.survey.calls}
    exported = _exported(place)
    sites = {fc: SiteAnalysis(ctx, fc, unsafe, exported) for fc in classes}
    for fc, site in sites.items():
        if fc.legacy or fc.name in constructed:  # a modern class matters only where it is instantiated
            site.run()
        if fc.legacy and site.blockers:
            fc.plan = None
        fc.blockers += site.blockers
    block_related(ctx, classes, {fc: site.references for fc, site in sites.items()}, others)
    for fc in classes:  # kept legacy for its state: split it, unless a use in another module forbids
        if fc.legacy and fc.plan is None:
            related = bool(fc.bases) or any(fc in c.family()[1:] for c in [*classes, *others])
            held = held_back.get(fc)
            solvable = held is not None and needed_elsewhere(held.message)
            # a call site elsewhere that needs the instance is a reason to split, like one here
            reasons = [*fc.blockers, held] if solvable and held not in fc.blockers else fc.blockers
            fc.stateful = plan_stateful(ctx, fc, reasons, sites[fc], related)
            if fc.stateful is not None and held is not None and not solvable:
                fc.stateful = None
                fc.blockers.append(held)

    frozen = [fc.node for fc in classes if fc.legacy and fc.plan is None and fc.stateful is None]
    for fc in classes:
        if fc.stateful is not None:
            _stateful_findings(ctx, fc, result, unsafe)
            continue
        unsafe_sites = _makes_unsafe_fix(sites[fc]) or (
            place is not None and place.index.is_unsafe(f"{place.module}.{fc.name}")
        )
        level = _level(fc, fc.blockers, unsafe_sites)
        if fc.legacy:
            result.findings.append(_class_finding(ctx, fc, level).but(fixable=fc.plan is not None, applicability=level))
            if fc.plan is not None:
                result.classes.append(fc.plan)
                result.deletions |= fc.plan.deletions
        else:
            _modern_fixes(ctx, fc, result)
        result.findings += fc.blockers
        _add_sites(ctx, result, fc, sites[fc], frozen, level)
    if place is not None:
        _external_sites(ctx, place, result, frozen, unsafe)
        result.findings += ambiguous_imports(ctx, place)
        result.summaries = [summarize(place.module, fc, ctx.code) for fc in classes]
        result.inlined |= {f"{place.module}.{name}" for site in sites.values() for name in site.inlined}
    variables, types, findings, removals = analyse_variables(ctx, frozen)
    result.variables, result.variable_types, result.import_removals = variables, types, removals
    result.findings += findings
    result.findings = sorted(set(result.findings))
    return result


def _stateful_findings(ctx: ModuleContext, fc, result: ModuleAnalysis, unsafe: bool) -> None:
    """A class split for its state: what kept it legacy is answered, and its sites stay."""
    pos = ctx.pos(fc.node.name)
    result.findings.append(_class_finding(ctx, fc, "unsafe").but(fixable=unsafe, applicability="unsafe"))
    result.findings.append(Finding.of(StatefulInstance, pos, fixable=unsafe, cls=fc.name))
    if unsafe:
        result.stateful.append(fc.stateful)


def _exported(place: Place | None):
    """Whether other files may import a module-level name (`from ops import f`): known only
    in a project run."""
    if place is None:
        return None
    return lambda name: place.index.is_exported(f"{place.module}.{name}")


def _level(fc, blockers: list[Finding], unsafe_sites: bool) -> str | None:
    """The fix level of a legacy class and its sites: `unsafe` when its migration waits for
    (or comes with) unsafe fixes; None when each finding keeps its own."""
    if not fc.legacy:
        return None
    if fc.plan is not None:
        return "unsafe" if unsafe_sites else None
    return "unsafe" if waits_for_unsafe(blockers) else "manual"


def _makes_unsafe_fix(site: SiteAnalysis) -> bool:
    """Whether one of its call sites is an unsafe fix this run makes."""
    return any(isinstance(plan, (HeldPlan, ModuleInstancePlan)) for _, plan in site.site_findings)


def _add_sites(ctx: ModuleContext, result: ModuleAnalysis, fc, site: SiteAnalysis, frozen: list, level) -> None:
    for finding, plan in site.site_findings:
        ok = plan is not None and (fc.plan is not None or not fc.legacy) and not _inside(ctx, plan.node, frozen)
        result.findings.append(finding.but(fixable=ok, applicability=level))
        if ok:
            result.sites.append(plan)
            if plan.delete is not None:
                result.deletions.add(plan.delete)


def _external_sites(ctx: ModuleContext, place: Place, result: ModuleAnalysis, frozen: list, unsafe: bool) -> None:
    """Call sites of classes defined in other modules; what cannot be rewritten here blocks the
    class there (a class migrates with all its call sites or not at all)."""
    for summary, refs, rebound in external_uses(ctx, place):
        if summary.stateful:  # its call sites stay as they are; a few uses forbid the split
            blockers = stateful_uses(ctx, summary.name, refs, rebound)
            result.findings += blockers
            if blockers:
                result.external_blockers[summary.qualified] = [(f.line, f.code, f.message, "manual") for f in blockers]
            continue
        ext = ExternalClass(summary, place.index.blocked_by(summary.qualified))
        site = SiteAnalysis(ctx, ext, unsafe, _exported(place))
        if rebound and ext.legacy:
            site.blockers.append(
                Finding.of(
                    Unsupported,
                    ctx.pos(refs[0]),
                    cls=ext.name,
                    reason="its imported name is bound more than once in this module",
                )
            )
        else:
            site.run(refs)
        result.findings += site.blockers
        if site.blockers and ext.legacy:
            result.external_blockers[summary.qualified] = [
                (f.line, f.code, f.message, f.applicability) for f in site.blockers
            ]
            ext.plan = None
        result.inlined |= {f"{place.module}.{name}" for name in site.inlined}
        if _makes_unsafe_fix(site) and ext.plan is not None:
            result.unsafe_uses.add(summary.qualified)
        level = _level(
            ext, ext.blockers + site.blockers, place.index.is_unsafe(summary.qualified) or _makes_unsafe_fix(site)
        )
        if summary.outside:
            note = f" (`{summary.name}` is defined outside the paths of this run, in {summary.outside}: migrate it too)"
            site.site_findings = [(replace(f, message=f.message + note), plan) for f, plan in site.site_findings]
        _add_sites(ctx, result, ext, site, frozen, level)


def _class_finding(ctx: ModuleContext, fc: FunctionClass, level: str | None) -> Finding:
    if fc.plan is None and level == "unsafe":
        detail = "; it migrates with --unsafe-fixes (see the findings on this class)"
    elif fc.plan is None:
        detail = "; it cannot be migrated automatically (see the findings on this class)"
    elif fc.plan.signature.ctor:
        moved = ", ".join(f"`{p.name}`" for p in fc.plan.signature.ctor)
        detail = f" (constructor parameters {moved} move to the end of forward)"
    else:
        detail = ""
    return Finding.of(LegacyFunction, ctx.pos(fc.node.name), fixable=fc.plan is not None, cls=fc.name, detail=detail)


def _modern_fixes(ctx: ModuleContext, fc: FunctionClass, result: ModuleAnalysis) -> None:
    for attr in find(fc.node, m.Attribute(attr=m.Name("saved_variables"))):
        result.modern_renames[attr] = "saved_tensors"
        result.findings.append(Finding.of(SavedVariables, ctx.pos(attr.attr)))
    for expr in find(fc.node, m.Expr(value=m.Call(func=m.Attribute(attr=m.Name("mark_shared_storage"))))):
        result.deletions.add(expr)
        result.findings.append(Finding.of(MarkSharedStorage, ctx.pos(expr)))


def _inside(ctx: ModuleContext, node: cst.CSTNode, frozen: list[cst.ClassDef]) -> bool:
    return any(a in frozen for a in ctx.ancestors(node))

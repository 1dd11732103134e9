"""Apply a module's migration plans and return the new tree."""

from __future__ import annotations

import libcst as cst

from autograd_migrate.analyse import ModuleContext
from autograd_migrate.analyse.model import ModuleAnalysis
from autograd_migrate.rewrite.calls import add_site_edits
from autograd_migrate.rewrite.classes import add_class_edits
from autograd_migrate.rewrite.edits import Edits
from autograd_migrate.rewrite.stateful import add_stateful_edits
from autograd_migrate.rewrite.variables import add_import_edits, add_variable_edits


def rewrite(ctx: ModuleContext, analysis: ModuleAnalysis) -> cst.Module:
    edits = Edits(ctx.survey.parents)
    for plan in analysis.classes:
        add_class_edits(edits, plan)
    for stateful in analysis.stateful:
        add_stateful_edits(edits, stateful)
    for site in analysis.sites:
        add_site_edits(edits, site)
    for variable in analysis.variables:
        add_variable_edits(edits, variable)
    for ref in analysis.variable_types:
        edits.add(ref, lambda _: cst.Attribute(cst.Name("torch"), cst.Name("Tensor")))
    for imp, removed in analysis.import_removals.items():
        add_import_edits(edits, imp, removed)
    for attr, new in analysis.modern_renames.items():
        edits.add(attr, lambda a, new=new: a.with_changes(attr=cst.Name(new)))
    edits.delete |= analysis.deletions
    return ctx.module.visit(edits)

"""What the analysis decides, as plain data: the rewrite applies it, the verifier reads it.

Nodes are the original nodes of the analysed module (LibCST compares by identity), so the
rewrite can find each planned spot while it walks the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import libcst as cst

from autograd_migrate.rules import Finding


@dataclass(frozen=True)
class Param:
    name: str
    default: cst.BaseExpression | None  # None: required


@dataclass
class ApplySignature:
    """How `Fn.apply` is called after migration: the inputs, then the former ctor arguments."""

    inputs: list[Param]
    ctor: list[Param]  # appended to forward, in this order
    star_inputs: bool = False  # forward takes *args


@dataclass
class MethodPlan:
    node: cst.FunctionDef
    ctx: str | None  # new name of the first parameter; None: the parameter is dropped


@dataclass
class ClassPlan:
    """How one legacy class becomes a modern one."""

    node: cst.ClassDef
    name: str
    signature: ApplySignature
    methods: dict[cst.FunctionDef, MethodPlan] = field(default_factory=dict)
    init: cst.FunctionDef | None = None  # removed; its body moves to the top of forward
    forward: cst.FunctionDef | None = None  # receives the ctor parameters and the init body
    renames: dict[cst.Name, str] = field(default_factory=dict)  # first-parameter references
    class_refs: set[cst.Attribute] = field(default_factory=set)  # self.X -> Cls.X
    helper_calls: dict[cst.Call, bool] = field(default_factory=dict)  # self.h() -> Cls.h(ctx?)
    attr_renames: dict[cst.Attribute, str] = field(default_factory=dict)
    deletions: set[cst.BaseSmallStatement] = field(default_factory=set)
    # backward returns -> (forward input count, the value is a name holding a tuple of gradients)
    returns: dict[cst.Return, tuple[int, bool]] = field(default_factory=dict)


@dataclass
class CallSitePlan:
    """`Fn(args)(x)` and friends -> `Fn.apply(x, args)`."""

    node: cst.Call  # the call that receives the inputs
    ctor_call: cst.Call  # `Fn(args)`
    # the extra arguments after the inputs: an index into ctor_call.args, or a default to copy
    extras: list[int | cst.BaseExpression] = field(default_factory=list)
    input_fill: list[cst.BaseExpression] = field(default_factory=list)  # skipped input defaults
    delete: cst.BaseSmallStatement | None = None  # `f = Fn(args)` of an inlined instance


@dataclass
class HeldPlan:
    """`self.fn = Fn(args)` -> `self.fn = (args,)`, each `self.fn(x)` -> `Fn.apply(x, *self.fn)`;
    without constructor arguments the assignment goes and the calls are `Fn.apply(x)`."""

    node: cst.Assign
    ctor_call: cst.Call
    extras: list[int | cst.BaseExpression]  # as in CallSitePlan: the tuple's elements
    calls: list[tuple[cst.Call, list[cst.BaseExpression]]]  # each call with its input fill
    delete: cst.BaseSmallStatement | None = None


@dataclass
class ModuleInstancePlan:
    """`fn = Fn(constants)` at module level -> `def fn(x): return Fn.apply(x, constants)`."""

    node: cst.SimpleStatementLine  # the line of the assignment, which becomes the function
    ctor_call: cst.Call
    extras: list[int | cst.BaseExpression]  # as in CallSitePlan
    inputs: list[Param]  # forward's inputs: the function's parameters
    delete = None


class VariableMode(Enum):
    PLAIN = "t"  # t has no autograd history: detaching it changes nothing
    DETACHED = "t.detach()"  # what the shim did
    FACTORY_KW = "factory(..., requires_grad=True)"
    REQUIRES_GRAD = "t.requires_grad_()"
    DETACH = "t.detach().requires_grad_(flag)"


@dataclass
class VariablePlan:
    node: cst.Call
    data: int  # index of the data argument
    mode: VariableMode
    flag: int | None = None  # index of a non-literal requires_grad argument
    context: int = 1  # the precedence the spot of the call requires (see precedence.required)


@dataclass(eq=False)
class StatefulPlan:
    """A class split into a plain class of the same name (the state) and a nested static
    Function (see analyse.stateful)."""

    node: cst.ClassDef
    forward: cst.FunctionDef
    backward: cst.FunctionDef
    refs: dict[cst.FunctionDef, dict[cst.Name, bool]]  # uses of `self`: True where it means ctx
    ctx_name: str
    state: str  # forward's new last parameter
    returns: dict[cst.Return, bool]  # backward's returns: True for a tuple display


@dataclass
class ModuleAnalysis:
    findings: list[Finding] = field(default_factory=list)
    classes: list[ClassPlan] = field(default_factory=list)
    stateful: list[StatefulPlan] = field(default_factory=list)
    sites: list[CallSitePlan | HeldPlan | ModuleInstancePlan] = field(default_factory=list)
    variables: list[VariablePlan] = field(default_factory=list)
    variable_types: list[cst.CSTNode] = field(default_factory=list)  # -> torch.Tensor
    modern_renames: dict[cst.Attribute, str] = field(default_factory=dict)  # saved_variables
    deletions: set[cst.BaseSmallStatement] = field(default_factory=set)
    import_removals: dict[cst.ImportFrom, set[cst.ImportAlias]] = field(default_factory=dict)
    # project runs: this module's classes for the index, and what blocks classes of other modules
    summaries: list = field(default_factory=list)
    external_blockers: dict[str, list[tuple[int, str, str, str]]] = field(default_factory=dict)
    unsafe_uses: set[str] = field(default_factory=set)  # classes elsewhere whose sites here are unsafe fixes
    inlined: set[str] = field(default_factory=set)  # "module.name": module-level instances it inlines

    @property
    def has_fixes(self) -> bool:
        return any(f.fixable for f in self.findings)

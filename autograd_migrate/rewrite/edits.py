"""One transformer that applies every planned edit in a single walk of the tree.

Edits are keyed by original nodes. Each replacement receives the *updated* node, whose children
have already been rewritten, so edits nest (a `Variable(...)` inside a call site inside a
migrated forward) without knowing about each other. Statements are deleted at the level of
their block, so a block never ends up empty and the comments above and beside a deleted line
survive.
The walk enters only the nodes on the way to an edit: rebuilding the rest would be waste.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

import libcst as cst

Replace = Callable[[cst.CSTNode], cst.CSTNode]


class Edits(cst.CSTTransformer):
    def __init__(self, parents: Mapping[cst.CSTNode, cst.CSTNode]) -> None:
        super().__init__()
        self.replace: dict[cst.CSTNode, list[Replace]] = defaultdict(list)
        self.delete: set[cst.BaseSmallStatement] = set()
        self.keep: set[cst.CSTNode] = set()  # originals whose rewritten form other edits read
        self.done: dict[cst.CSTNode, cst.CSTNode] = {}
        self._parents = parents
        self._ways: set[cst.CSTNode] | None = None  # the edited nodes and their ancestors

    def add(self, node: cst.CSTNode, fn: Replace) -> None:
        self.replace[node].append(fn)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._ways is None:
            self._ways = set()
            for target in (*self.replace, *self.delete, *self.keep):
                while target is not None and target not in self._ways:
                    self._ways.add(target)
                    target = self._parents.get(target)
        return node in self._ways

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):  # type: ignore[override]
        if isinstance(updated, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            updated = self._drop_small(original, updated)
        elif isinstance(updated, (cst.IndentedBlock, cst.Module)):
            updated = self._drop_lines(original, updated)
        for fn in self.replace.get(original, ()):
            updated = fn(updated)
        if original in self.keep:
            self.done[original] = updated
        return updated

    def _gone(self, line: cst.CSTNode) -> bool:
        return isinstance(line, cst.SimpleStatementLine) and all(s in self.delete for s in line.body)

    def _drop_small(self, original, updated):
        if not any(s in self.delete for s in original.body) or self._gone(original):
            return updated
        body = [u for o, u in zip(original.body, updated.body, strict=True) if o not in self.delete]
        if not body:
            body = [cst.Pass()]
        body[-1] = body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(body=body)

    def _drop_lines(self, original, updated):
        if not any(self._gone(o) for o in original.body):
            return updated
        body: list[cst.CSTNode] = []
        carry: list[cst.EmptyLine] = []
        for o, u in zip(original.body, updated.body, strict=True):
            if self._gone(o):
                carry += u.leading_lines
                if u.trailing_whitespace.comment is not None:  # `f = Fn(k)  # why`: the why stays
                    carry.append(cst.EmptyLine(comment=u.trailing_whitespace.comment))
                continue
            if carry:
                u = u.with_changes(leading_lines=[*carry, *u.leading_lines])
                carry = []
            body.append(u)
        changes: dict[str, object] = {"body": body}
        if carry:
            changes["footer"] = [*carry, *updated.footer]
        if not body and isinstance(updated, cst.IndentedBlock):
            changes["body"] = [cst.SimpleStatementLine([cst.Pass()])]
        return updated.with_changes(**changes)


def tight_equal() -> cst.AssignEqual:
    """`=` of a keyword argument or default, PEP 8 style (no spaces)."""
    return cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def join_args(args: Sequence[cst.Arg], appended: Sequence[cst.Arg]) -> list[cst.Arg]:
    """`args` followed by `appended`, separated the way the original call separated its arguments."""
    if not appended:
        return list(args)
    if not args:
        return _separate(list(appended), cst.MaybeSentinel.DEFAULT, cst.MaybeSentinel.DEFAULT)
    sep = args[0].comma if len(args) > 1 else cst.MaybeSentinel.DEFAULT
    return _separate([*args, *appended], sep, args[-1].comma)


def _separate(args: list[cst.Arg], sep, last) -> list[cst.Arg]:
    out = [a.with_changes(comma=sep) for a in args[:-1]]
    return [*out, args[-1].with_changes(comma=last)]

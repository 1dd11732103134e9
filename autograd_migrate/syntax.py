"""Shapes of statements that both the analysis and the rewrite ask about."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import libcst as cst
import libcst.matchers as m


def statements(body: cst.BaseSuite) -> list[cst.BaseStatement]:
    """The statements of a block; a one-line suite (`def f(): return x`) counts as one line."""
    if isinstance(body, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=body.body)]
    return list(body.body)


def is_docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def is_filler(stmt: cst.BaseStatement) -> bool:
    """A docstring or `pass`: what a constructor body may hold without doing anything."""
    return is_docstring(stmt) or (
        isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, cst.Pass) for s in stmt.body)
    )


_FIELDS: dict[type, tuple[str, ...]] = {}


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The child nodes, in source order, read from the node's dataclass fields: a LibCST
    visitor rebuilds every node it passes, which makes a read-only walk several times slower."""
    names = _FIELDS.get(type(node))
    if names is None:
        names = _FIELDS[type(node)] = tuple(f.name for f in dataclasses.fields(node))
    found: list[cst.CSTNode] = []
    for name in names:
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found += [c for c in value if isinstance(c, cst.CSTNode)]
    return found


def walk(node: cst.CSTNode, prune: tuple[type, ...] = ()) -> Iterator[cst.CSTNode]:
    """`node` and its descendants, pre-order in source order; below `node`, nodes of the
    `prune` types are yielded but not entered."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is node or not isinstance(current, prune):
            stack += reversed(children(current))


def find(node: cst.CSTNode, matcher, prune: tuple[type, ...] = ()) -> list[cst.CSTNode]:
    """`libcst.matchers.findall` without the visitor (see `children`)."""
    kind = getattr(cst, type(matcher).__name__, None)  # m.Call -> cst.Call; None for m.OneOf etc.
    kind = kind if isinstance(kind, type) else cst.CSTNode
    return [n for n in walk(node, prune) if isinstance(n, kind) and m.matches(n, matcher)]

"""Shapes of statements that both the analysis and the rewrite ask about."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator

import libcst as cst

from autograd_migrate import patterns as m


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
_IS_NODE: dict[type, bool] = {}  # `isinstance` against LibCST's abstract classes is slow


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The child nodes, in field order, read from the node's dataclass fields: a LibCST
    visitor rebuilds every node it passes, which makes a read-only walk several times slower."""
    names = _FIELDS.get(type(node))
    if names is None:
        names = _FIELDS[type(node)] = tuple(f.name for f in dataclasses.fields(node))
    found: list[cst.CSTNode] = []
    for name in names:
        value = getattr(node, name)
        kind = type(value)
        if kind is list or kind is tuple:
            found += [c for c in value if _is_node(type(c))]
        elif _is_node(kind):
            found.append(value)
    return found


def _is_node(kind: type) -> bool:
    known = _IS_NODE.get(kind)
    if known is None:
        known = _IS_NODE[kind] = issubclass(kind, cst.CSTNode)
    return known


def walk(node: cst.CSTNode, prune: tuple[type, ...] = ()) -> Iterator[cst.CSTNode]:
    """`node` and its descendants, pre-order in source order; below `node`, nodes of the
    `prune` types are yielded but not entered."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is node or not isinstance(current, prune):
            stack += reversed(children(current))


def find(node: cst.CSTNode, pattern: m.Pattern, prune: tuple[type, ...] = ()) -> list[cst.CSTNode]:
    """The nodes under `node` that match, in walk order."""
    every, by_type = _descendants(node, prune)
    if isinstance(pattern, m.NodePattern):
        return [n for n in by_type.get(pattern.kind, ()) if pattern.matches(n)]
    return [n for n in every if pattern.matches(n)]


@functools.lru_cache(maxsize=1024)
def _descendants(node: cst.CSTNode, prune: tuple[type, ...]) -> tuple[list[cst.CSTNode], dict[type, list]]:
    """The walk of a node, also by node type: the analysis searches the same methods many times."""
    every = list(walk(node, prune))
    by_type: dict[type, list[cst.CSTNode]] = {}
    for n in every:
        by_type.setdefault(type(n), []).append(n)
    return every, by_type

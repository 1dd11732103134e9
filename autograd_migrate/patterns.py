"""Declarative node patterns, spelt like `libcst.matchers`: `m.Call(func=m.Name("super"))`.

Importing `libcst.matchers` costs more than importing LibCST itself (its generated module
defines a class per node type, with typing unions for every field): about a quarter of a
second for every run and every worker, more than parsing a hundred files. The analysis uses
a small part of it, which this module provides with the same spelling:

- `m.<NodeType>(positional..., field=pattern...)`: a node of exactly that type whose fields
  match; positional patterns go to the node's fields in order (`m.Name("x")` is `value="x"`);
- a field pattern is a pattern, a list of patterns (a sequence of that length, element by
  element), or a plain value compared with `==` (`keyword=None`, `star=""`);
- `a | b` and `m.OneOf(a, b)`: either;
- `m.matches(node, pattern)`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import libcst as cst


class Pattern:
    def matches(self, node: object) -> bool:
        raise NotImplementedError

    def __or__(self, other: Pattern) -> OneOf:
        return OneOf(self, other)


class NodePattern(Pattern):
    def __init__(self, kind: type[cst.CSTNode], *args: Any, **fields: Any) -> None:
        names = [f.name for f in dataclasses.fields(kind)]
        unknown = set(fields) - set(names)
        if unknown or len(args) > len(names):
            raise TypeError(f"{kind.__name__} has no field(s) {sorted(unknown) or args}")
        self.kind = kind
        self.fields = {**dict(zip(names, args, strict=False)), **fields}

    def matches(self, node: object) -> bool:
        return type(node) is self.kind and all(_field_matches(getattr(node, n), p) for n, p in self.fields.items())


class OneOf(Pattern):
    def __init__(self, *options: Pattern) -> None:
        self.options = [o for option in options for o in (option.options if isinstance(option, OneOf) else [option])]

    def matches(self, node: object) -> bool:
        return any(option.matches(node) for option in self.options)


def _field_matches(value: object, pattern: object) -> bool:
    if isinstance(pattern, Pattern):
        return pattern.matches(value)
    if isinstance(pattern, list):
        return (
            isinstance(value, (list, tuple))
            and len(value) == len(pattern)
            and all(_field_matches(v, p) for v, p in zip(value, pattern, strict=True))
        )
    return value == pattern


def matches(node: object, pattern: Pattern) -> bool:
    return pattern.matches(node)


def __getattr__(name: str):
    """`m.Call` and the like: a pattern maker for that LibCST node type."""
    kind = getattr(cst, name, None)
    if not (isinstance(kind, type) and issubclass(kind, cst.CSTNode)):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def make(*args: Any, **fields: Any) -> NodePattern:
        return NodePattern(kind, *args, **fields)

    make.__name__ = name
    return make

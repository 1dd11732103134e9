"""Line and column of any node, from the one code generation that checks the parse round-trips.

LibCST's `PositionProvider` builds two position objects per node and splits every token on
newlines as it goes, which costs several times the generation itself. Here the generation only
notes where each node starts in the token list; a node's line and column are worked out when
a finding asks for them. The starts are LibCST's syntactic ones (a statement starts after its
leading blank lines and comments), so the positions are the ones `PositionProvider` gives.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import accumulate

import libcst as cst
from libcst._nodes.internal import CodegenState  # the hook LibCST's own position providers use

_NEWLINE = re.compile(r"\r\n?|\n")


class _StartRecorder(CodegenState):
    """Code generation that records the token index at which each node starts."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.starts: dict[cst.CSTNode, int] = {}
        self._open: list[int] = []

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._open.append(len(self.tokens))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._open.pop()
        self.starts.setdefault(node, start)  # a syntactic start, recorded inside, wins

    @contextmanager
    def record_syntactic_position(
        self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None, end_node: cst.CSTNode | None = None
    ) -> Iterator[None]:
        start = len(self.tokens)
        yield
        self.starts[node] = self.starts[start_node] if start_node is not None else start


class Positions:
    def __init__(self, module: cst.Module) -> None:
        state = _StartRecorder(module)
        module._codegen(state)
        self.code = "".join(state.tokens)
        self._starts = state.starts
        self._offsets = [0, *accumulate(map(len, state.tokens))]
        self._line_starts: list[int] | None = None

    def of(self, node: cst.CSTNode) -> tuple[int, int]:
        """(line, column), both from 1."""
        if self._line_starts is None:
            self._line_starts = [0, *(match.end() for match in _NEWLINE.finditer(self.code))]
        offset = self._offsets[self._starts[node]]
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

"""Reading, parsing and writing source files without ever corrupting them.

LibCST parses bytes and remembers the encoding, BOM and newline style, so a module that is
not changed renders to the same bytes. Files it cannot round-trip exactly (it drops form feeds
in indentation, for instance) are refused rather than rewritten with collateral changes.
"""

from __future__ import annotations

import ast
import os
import tempfile
import warnings
from pathlib import Path

import libcst as cst

from autograd_migrate.positions import Positions


class SourceError(Exception):
    """A file that cannot be read, decoded or parsed; the message names the line."""


def parse(path: Path, data: bytes) -> tuple[cst.Module, Positions]:
    """The module, and its positions from the code generation that proves it round-trips."""
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError as exc:
        raise SourceError(_syntax_error(path, data, exc)) from None
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        raise SourceError(f"{path}:1:1: cannot decode: {exc}") from None
    positions = Positions(module)
    if positions.code.encode(module.encoding) != data:
        raise SourceError(f"{path}:1:1: LibCST cannot reproduce this file byte for byte; not touched")
    return module, positions


def _syntax_error(path: Path, data: bytes, exc: cst.ParserSyntaxError) -> str:
    """Python's own wording and position when it agrees the file is invalid (clearer, and
    right for tab errors, which LibCST places at 1:1); LibCST's otherwise."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(data, str(path), "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as py:  # TabError and IndentationError included
        return f"{path}:{py.lineno or 1}:{py.offset or 1}: syntax error: {py.msg}"
    except ValueError:  # null bytes
        pass
    return f"{path}:{exc.raw_line}:{exc.raw_column + 1}: syntax error: {exc.message.splitlines()[0]}"


def render(path: Path, module: cst.Module) -> bytes:
    """The new bytes of a rewritten module, checked to be valid Python before anyone sees them."""
    data = module.bytes
    try:
        with warnings.catch_warnings():  # the user's invalid escapes are not our news
            warnings.simplefilter("ignore")
            compile(data, str(path), "exec", dont_inherit=True)  # also catches duplicate parameters
    except SyntaxError as exc:  # a bug in a rewrite, never the user's fault
        raise SourceError(
            f"{path}:{exc.lineno or 1}:1: internal error: the rewrite produced invalid code ({exc.msg}); "
            "file left untouched, please report this"
        ) from None
    return data


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` by a temporary file in the same directory, keeping its permissions.
    A symlink is written through: the file it points to changes, the link stays a link."""
    path = path.resolve()
    mode = path.stat().st_mode
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

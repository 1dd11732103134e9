"""Our positions must be LibCST's `PositionProvider` starts, for every node of real files."""

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from autograd_migrate.positions import Positions
from autograd_migrate.syntax import walk
from tests.conftest import FIXTURES

ODD = (
    "import torch  # comment\r\n\r\n\r\n# leading comment\r\nclass Fn(torch.autograd.Function):\r\n"
    '    """doc"""\r\n\r\n    def forward(self, x):  # trailing\r\n        return (  x  ) * 2\r\n'
)


def _sources() -> list[tuple[str, str]]:
    files = sorted(FIXTURES.rglob("*.py"))
    assert len(files) > 80
    sources = [(str(p.relative_to(FIXTURES)), p.read_text()) for p in files]
    return [*sources, ("crlf", ODD), ("cr", ODD.replace("\r\n", "\r")), ("tabs", ODD.replace("    ", "\t"))]


@pytest.mark.parametrize(("name", "source"), _sources(), ids=lambda v: v if len(v) < 60 else "")
def test_positions_are_libcst_syntactic_starts(name, source):
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    positions = Positions(module)
    assert positions.code == module.code
    for node in walk(module):
        start = expected[node].start
        assert positions.of(node) == (start.line, start.column + 1), (name, type(node).__name__)

"""Our patterns must match exactly the nodes the same `libcst.matchers` patterns match."""

import libcst as cst
import libcst.matchers as lm
import pytest

from autograd_migrate import patterns as m
from autograd_migrate.syntax import walk
from tests.conftest import FIXTURES


def _both(build):
    """The same pattern, built with our module and with `libcst.matchers`."""
    return build(m), build(lm)


PATTERNS = {
    "any call": lambda k: k.Call(),
    "name by value (positional)": lambda k: k.Name("self"),
    "nested fields": lambda k: k.Call(func=k.Attribute(value=k.Call(func=k.Name("super")))),
    "either": lambda k: k.Name("True") | k.Name("False") | k.Integer(),
    "one of": lambda k: k.OneOf(k.Tuple(), k.List()),
    "sequence of one": lambda k: k.Assign(targets=[k.AssignTarget(target=k.Name())]),
    "plain values": lambda k: k.Arg(value=k.Name(), keyword=None, star=""),
    "operators": lambda k: k.UnaryOperation(operator=k.Minus() | k.Plus(), expression=k.Integer() | k.Float()),
    "statement shape": lambda k: k.SimpleStatementLine(body=[k.Return(value=k.Call()) | k.Expr(k.Call())]),
}


@pytest.mark.parametrize("label", PATTERNS)
def test_same_matches_as_libcst(label):
    ours, theirs = _both(PATTERNS[label])
    hits = 0
    for path in sorted(FIXTURES.rglob("before.py")):
        for node in walk(cst.parse_module(path.read_bytes())):
            expected = lm.matches(node, theirs)
            assert m.matches(node, ours) == expected, (label, path, type(node).__name__)
            hits += expected
    assert hits, f"no fixture node matches {label!r}: the comparison proves nothing"


def test_unknown_fields_are_refused():
    with pytest.raises(TypeError):
        m.Call(function=m.Name())
    with pytest.raises(AttributeError):
        m.NotANode()

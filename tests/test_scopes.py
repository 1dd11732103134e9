"""Our scope analysis against Python's rules, and against LibCST's `ScopeProvider` as an oracle."""

import textwrap

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ScopeProvider

from autograd_migrate.analyse.context import Survey
from autograd_migrate.analyse.scopes import Scopes
from autograd_migrate.positions import Positions
from autograd_migrate.syntax import walk
from tests.conftest import FIXTURES


def _resolved(scopes: Scopes) -> dict[cst.Name, list]:
    found: dict[cst.Name, list] = {}
    scope_list = {id(s): s for s in scopes._of.values()}.values()
    for scope in scope_list:
        for bindings in scope.bindings.values():
            for binding in bindings:
                for ref in binding.references:
                    found.setdefault(ref, []).append(binding)
    return found


@pytest.mark.parametrize("path", sorted(FIXTURES.rglob("*.py")), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_use_means_what_libcst_says(path):
    """Each use of a name resolves to LibCST's bindings for it, plus bindings LibCST leaves out
    because it orders them (we do not, which only ever adds bindings, so the analysis is at
    most more careful): see `_later`."""
    module = cst.parse_module(path.read_bytes())
    expected: dict[cst.Name, set] = {}
    for scope in {s for s in MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider).values() if s}:
        for access in scope.accesses:
            node = access.node
            while isinstance(node, cst.Attribute):  # LibCST reads `import a.b` uses as `a.b`
                node = node.value
            if isinstance(node, cst.Name):
                expected.setdefault(node, set()).update(a.node for a in access.referents if hasattr(a, "node"))
    scopes, positions, parents = Scopes(module), Positions(module), Survey(module).parents
    ours = _resolved(scopes)
    for name in {*expected, *ours}:
        if any(_is_type_var(a) for a in _ancestors(name, parents)):
            continue  # LibCST reads `TypeVar(...)` arguments as annotations
        mine = ours.get(name, [])
        later = [_later(name, binding, scopes, positions, parents) for binding in mine]
        if not expected.get(name, set()) <= {b.node for b in mine}:
            # LibCST falls back to the enclosing scope when every binding here comes later
            assert mine and all(later), (name.value, positions.of(name))
        for binding, is_later in zip(mine, later, strict=True):
            assert binding.node in expected.get(name, set()) or is_later, (name.value, positions.of(name))


def _later(name, binding, scopes, positions, parents) -> bool:
    """Whether LibCST has a reason to leave `binding` out for this use of `name`: it comes
    further down, or in the statement that reads it (`t = t + 1`); `x += 1` and `del x` (uses
    and bindings here: Python makes `x` local; LibCST does not link them to other bindings);
    a name declared `nonlocal`/`global` where it is read or bound (we keep all its bindings);
    `import a` next to `import a.b` (LibCST picks one by the dotted name used); `:=` in a
    comprehension (it binds in the enclosing function, which LibCST does not follow)."""
    statement = _statement(binding.node, parents)
    return (
        positions.of(binding.node) > positions.of(name)
        or statement in _ancestors(name, parents)
        or isinstance(statement, (cst.AugAssign, cst.Del))
        or isinstance(parents.get(name), (cst.AugAssign, cst.Del))
        or any(name.value in s.declared_nonlocal | s.declared_global for s in scopes.of(name).enclosing())
        or name.value in binding.scope.declared_nonlocal | binding.scope.declared_global
        or isinstance(binding.node, cst.Import)
        or isinstance(parents.get(binding.node), cst.NamedExpr)
    )


def _is_type_var(node) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "TypeVar"


def _ancestors(node, parents):
    while node is not None:
        yield node
        node = parents.get(node)


def _statement(node, parents):
    return next(
        a for a in _ancestors(node, parents) if isinstance(a, (cst.BaseSmallStatement, cst.BaseCompoundStatement))
    )


def _refs(source: str) -> dict[str, list[tuple[str, int]]]:
    """name -> (what binds it, line of the binding) for each use, in source order."""
    module = cst.parse_module(textwrap.dedent(source))
    scopes, positions = Scopes(module), Positions(module)
    resolved = _resolved(scopes)
    out: dict[str, list[tuple[str, int]]] = {}
    for node in sorted((n for n in walk(module) if n in resolved), key=positions.of):
        for binding in resolved[node]:
            out.setdefault(node.value, []).append((type(binding.node).__name__, positions.of(binding.node)[0]))
    return out


def test_class_scope_is_invisible_from_its_methods():
    refs = _refs(
        """
        x = 1
        class C:
            x = 2
            y = x
            def f(self):
                return x
            z = [x for _ in range(3)]
        """
    )
    assert refs["x"] == [("Name", 4), ("Name", 2), ("Name", 2)]


def test_first_iterable_and_defaults_are_read_outside():
    refs = _refs(
        """
        def f(items, n=len):
            g = [n for n in items if n]
            return lambda n=n: n
        """
    )
    # `len` is a builtin; `items` is f's parameter; the comprehension's `n` is its own; the
    # lambda's default is f's `n`, its body the lambda's own parameter
    assert refs["items"] == [("Param", 2)]
    assert refs["n"] == [("Name", 3), ("Name", 3), ("Param", 2), ("Param", 4)]


def test_global_nonlocal_and_walrus_move_bindings():
    module = cst.parse_module(
        textwrap.dedent(
            """
            def f():
                global a
                a = 1
                b = 0
                def g():
                    nonlocal b
                    b = 2
                return [c := i for i in range(3)], c
            """
        )
    )
    scopes = Scopes(module)
    fn = module.body[0]
    inner = scopes.of(fn.body.body[0])
    assert [b.node.value for b in scopes.module.bound("a")] == ["a"]
    assert not inner.bound("a")
    assert len(inner.bound("b")) == 2  # `b = 0` and g's `b = 2`
    assert len(inner.bound("c")) == 1  # the walrus binds in f, not in the comprehension


@pytest.mark.parametrize(
    ("source", "name", "binder"),
    [
        ("import a.b\na.b.c()\n", "a", "Import"),
        ("import a.b as d\nd.c()\n", "d", "Import"),
        ("from . import x\nx()\n", "x", "ImportFrom"),
        ("with open(p) as (f, g):\n    f.read()\n", "f", "Name"),
        ("try:\n    pass\nexcept E as e:\n    print(e)\n", "e", "Name"),
        ("for k, *rest in z:\n    print(rest)\n", "rest", "Name"),
        ("match v:\n    case [h, *t]:\n        print(t)\n", "t", "Name"),
        ("x = 0\nx += 1\n", "x", "Name"),
    ],
)
def test_binding_forms(source, name, binder):
    refs = _refs(source)
    assert refs[name] and {kind for kind, _ in refs[name]} == {binder}


def test_labels_and_builtins_are_not_references():
    module = cst.parse_module("def f(obj):\n    return obj.len + g(key=len(obj))\n")
    scopes = Scopes(module)
    refs = _resolved(scopes)
    assert sorted(n.value for n in refs) == ["obj", "obj"]
    body = module.body[0].body.body[0]
    assert scopes.of(body).is_builtin("len") and not scopes.of(body).is_builtin("obj")

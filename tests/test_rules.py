"""Each rule documents itself with an example; the examples must behave as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograd_migrate.engine import process
from autograd_migrate.rules import RULES, Rule

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("rule", RULES.values(), ids=lambda r: r.code)
def test_invalid_example_triggers_the_rule(rule: type[Rule]) -> None:
    result = process(Path("example.py"), rule.invalid.encode())
    assert result.error is None
    found = [f for f in result.findings if f.code == rule.code]
    assert found
    assert all(f.applicability == rule.applicability for f in found)
    assert all(f.fixable == (rule.applicability == "safe") for f in found)


@pytest.mark.parametrize("rule", [r for r in RULES.values() if r.fixed], ids=lambda r: r.code)
def test_fixed_example_is_the_fix(rule: type[Rule]) -> None:
    """Safe fixes by default; an unsafe rule's example only with the unsafe fixes."""
    unsafe = rule.applicability == "unsafe"
    if unsafe:
        assert process(Path("example.py"), rule.invalid.encode()).new is None
    result = process(Path("example.py"), rule.invalid.encode(), unsafe=unsafe)
    assert result.new is not None and result.new.decode() == rule.fixed
    assert all(f.fixable for f in result.findings if f.code == rule.code)
    again = process(Path("example.py"), rule.fixed.encode(), unsafe=True)
    assert again.new is None and rule.code not in [f.code for f in again.findings]


def test_manual_rules_leave_the_example_untouched() -> None:
    for rule in RULES.values():
        if rule.applicability == "manual":
            assert process(Path("example.py"), rule.invalid.encode(), unsafe=True).new is None, rule.code
            assert not rule.fixed, rule.code


def test_every_level_is_documented() -> None:
    assert {r.applicability for r in RULES.values()} == {"safe", "unsafe", "manual"}
    assert all((r.fixed is None) == (r.applicability == "manual") for r in RULES.values())


def test_codes_are_unique_and_well_formed() -> None:
    names = [r.name for r in RULES.values()]
    assert len(set(names)) == len(names)
    assert all(code.startswith("AGM") and len(code) == 6 and code[3:].isdigit() for code in RULES)


def test_readme_lists_every_code() -> None:
    """The README's code table is generated from the rules (`rules.markdown_table()`)."""
    from autograd_migrate.rules import markdown_table

    assert markdown_table() in (ROOT / "README.md").read_text()

"""The KPI expression language: one definition, the same meaning in Excel and Python."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbook import expr


@pytest.mark.parametrize(
    ("source", "excel"),
    [
        ("orders / uv", "orders/uv"),
        ("a - (b - c)", "a-(b-c)"),
        ("(a - b) - c", "a-b-c"),
        ("a / (b * c)", "a/(b*c)"),
        ("(a * b) / c", "a*b/c"),
        ("a * (1 + g)", "a*(1+g)"),
        ("(a - b) * 100", "(a-b)*100"),
        ("-a + 1.5", "-a+1.5"),
        ("-(a + b)", "-(a+b)"),
        ("a + (b + c)", "a+(b+c)"),
    ],
)
def test_excel_text_keeps_exactly_the_needed_parentheses(source: str, excel: str) -> None:
    assert expr.to_excel(expr.parse(source)) == excel


def test_formula_guards_blanks_and_errors() -> None:
    node = expr.parse("(gmv - campaign_gmv) / (period_days - campaign_days)")
    assert expr.excel_formula(node) == (
        '=IF(COUNT(gmv,campaign_gmv,period_days,campaign_days)<4,"",'
        'IFERROR((gmv-campaign_gmv)/(period_days-campaign_days),""))'
    )
    assert expr.excel_formula(expr.parse("1 / 4")) == '=IFERROR(1/4,"")'


@pytest.mark.parametrize("bad", ["", "a +", "(a", "a b", "a ^ 2", "sum(a)", "a // b", "1e5"])
def test_bad_expressions_are_refused(bad: str) -> None:
    with pytest.raises(expr.ExprError):
        expr.parse(bad)


def test_blank_and_division_by_zero_give_blank() -> None:
    node = expr.parse("a / b - 1")
    assert expr.evaluate(node, {"a": 3.0, "b": 2.0}) == 0.5
    assert expr.evaluate(node, {"a": None, "b": 2.0}) is None
    assert expr.evaluate(node, {"a": 3.0, "b": 0.0}) is None
    assert expr.evaluate(expr.parse("a * b"), {"a": 1e308, "b": 10.0}) is None


_names = st.sampled_from(["a", "b", "c"])


def _trees() -> st.SearchStrategy[expr.Node]:
    leaves = st.one_of(
        st.builds(expr.Ref, _names), st.builds(expr.Num, st.integers(0, 1000).map(float))
    )
    return st.recursive(
        leaves,
        lambda sub: st.one_of(
            st.builds(expr.Neg, sub), st.builds(expr.BinOp, st.sampled_from("+-*/"), sub, sub)
        ),
        max_leaves=12,
    )


@given(_trees(), st.dictionaries(_names, st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=3))
def test_excel_text_parses_back_to_the_same_value(
    tree: expr.Node, env: dict[str, float | None]
) -> None:
    """Printing then parsing keeps Python's evaluation order exactly (bit for bit)."""
    again = expr.parse(expr.to_excel(tree))
    a, b = expr.evaluate(tree, env), expr.evaluate(again, env)
    assert (a is None and b is None) or (
        a is not None and b is not None and (a == b or (math.isnan(a) and math.isnan(b)))
    )


def test_cancellation_gives_exactly_zero_as_in_spreadsheets() -> None:
    assert expr.approx_sub(0.3, 0.1) - 0.2 != 0.0  # plain IEEE leaves a residue
    assert expr.approx_sub(expr.approx_sub(0.3, 0.1), 0.2) == 0.0
    assert expr.approx_sub(3_000_000_000_000.05, 3_000_000_000_000.04) == 0.0
    assert expr.approx_add(1.0, -0.9999999999999999) == 0.0
    assert expr.approx_sub(2.0**52 + 2, 2.0**52) == 2.0  # whole numbers are exact
    assert expr.approx_sub(1.0, 0.999) == pytest.approx(0.001)
    node = expr.parse("(a - b) / c")
    assert expr.evaluate(node, {"a": 0.3, "b": 0.3000000000000001, "c": 2.0}) == 0.0

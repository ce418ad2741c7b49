"""The KPI expression language: one definition, an Excel formula and a Python value."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# The language is deliberately tiny: numbers, ids, + - * /, unary minus and parentheses.
# Every KPI of the template is a ratio, difference or product of inputs, so no function is
# needed; each function added later must have the same meaning in Excel, LibreOffice and Python
# for every number (MIN/MAX/ABS would; ROUND would not: Excel rounds half away from zero).
#
# Semantics, identical on both sides:
# - a blank (or non-numeric) operand makes the whole result blank;
# - + and - cancel to exactly 0 as spreadsheets do (approx_add / approx_sub below);
# - division by zero, overflow or a non-finite result makes it blank;
# - never an Excel error in a cell.

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([a-z_][a-z0-9_]*)|(.))")


class ExprError(ValueError):
    """An expression in the template spec is not valid."""


@dataclass(frozen=True)
class Num:
    """A number literal."""

    value: float


@dataclass(frozen=True)
class Ref:
    """A reference to a field or KPI id."""

    name: str


@dataclass(frozen=True)
class Neg:
    """Unary minus."""

    operand: Node


@dataclass(frozen=True)
class BinOp:
    """A binary operation: + - * /."""

    op: str
    left: Node
    right: Node


Node = Num | Ref | Neg | BinOp

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def parse(text: str) -> Node:
    """Parse an expression; raise ExprError naming the position of the first problem."""
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        if m is None:  # pragma: no cover - the pattern matches any character
            raise ExprError(f"cannot read {text!r} at {pos}")
        number, name, other = m.groups()
        start = m.start(m.lastindex or 0)
        if number is not None:
            tokens.append(("num", number, start))
        elif name is not None:
            tokens.append(("name", name, start))
        elif other in "+-*/()":
            tokens.append(("op", other, start))
        else:
            raise ExprError(f"unexpected {other!r} at {start} in {text!r}")
        pos = m.end()
    parser = _Parser(text, tokens)
    node = parser.expression()
    if parser.index != len(tokens):
        raise ExprError(f"unexpected {tokens[parser.index][1]!r} in {text!r}")
    return node


class _Parser:
    def __init__(self, text: str, tokens: list[tuple[str, str, int]]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def expression(self) -> Node:
        node = self.term()
        while (tok := self._peek()) is not None and tok[1] in "+-" and tok[0] == "op":
            self.index += 1
            node = BinOp(tok[1], node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while (tok := self._peek()) is not None and tok[1] in "*/" and tok[0] == "op":
            self.index += 1
            node = BinOp(tok[1], node, self.unary())
        return node

    def unary(self) -> Node:
        tok = self._peek()
        if tok is not None and tok == ("op", "-", tok[2]):
            self.index += 1
            return Neg(self.unary())
        return self.atom()

    def atom(self) -> Node:
        tok = self._peek()
        if tok is None:
            raise ExprError(f"{self.text!r} ends too early")
        self.index += 1
        kind, value, _ = tok
        if kind == "num":
            return Num(float(value))
        if kind == "name":
            return Ref(value)
        if value == "(":
            node = self.expression()
            close = self._peek()
            if close is None or close[1] != ")":
                raise ExprError(f"missing ')' in {self.text!r}")
            self.index += 1
            return node
        raise ExprError(f"unexpected {value!r} at {tok[2]} in {self.text!r}")


def references(node: Node) -> tuple[str, ...]:
    """The ids an expression reads, in first-use order, each once."""
    seen: dict[str, None] = {}

    def walk(n: Node) -> None:
        if isinstance(n, Ref):
            seen.setdefault(n.name, None)
        elif isinstance(n, Neg):
            walk(n.operand)
        elif isinstance(n, BinOp):
            walk(n.left)
            walk(n.right)

    walk(node)
    return tuple(seen)


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def to_excel(node: Node, parent: int = 0, right_side: bool = False) -> str:
    """The expression in Excel syntax, with only the parentheses it needs."""
    if isinstance(node, Num):
        return _number_text(node.value)
    if isinstance(node, Ref):
        return node.name
    if isinstance(node, Neg):
        inner = to_excel(node.operand, 3)
        return f"-{inner}"
    prec = _PRECEDENCE[node.op]
    text = f"{to_excel(node.left, prec)}{node.op}{to_excel(node.right, prec, True)}"
    # a - (b - c) and a / (b * c) keep their parentheses; a + (b + c) could lose them, but
    # floating-point addition is not associative, so Excel must group exactly as Python does.
    if prec < parent or (prec == parent and right_side):
        return f"({text})"
    return text


def excel_formula(node: Node) -> str:
    """The full cell formula: blank when an input is blank or the result is an error."""
    body = to_excel(node)
    refs = references(node)
    guarded = f'IFERROR({body},"")'
    if not refs:
        return f"={guarded}"
    return f'=IF(COUNT({",".join(refs)})<{len(refs)},"",{guarded})'


Value = float | None


def evaluate(node: Node, env: Mapping[str, Value]) -> Value:
    """Evaluate with the Excel formula's semantics; None is a blank cell."""
    try:
        result = _eval(node, env.__getitem__)
    except (ZeroDivisionError, OverflowError):
        return None
    if result is None or not math.isfinite(result):
        return None
    return result


def _eval(node: Node, lookup: Callable[[str], Value]) -> Value:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        value = lookup(node.name)
        return None if value is None else float(value)
    if isinstance(node, Neg):
        inner = _eval(node.operand, lookup)
        return None if inner is None else -inner
    left = _eval(node.left, lookup)
    right = _eval(node.right, lookup)
    if left is None or right is None:
        return None
    if node.op == "+":
        return approx_add(left, right)
    if node.op == "-":
        return approx_sub(left, right)
    if node.op == "*":
        return left * right
    return left / right


# Spreadsheet addition is not quite IEEE addition: LibreOffice (rtl::math::approxAdd/approxSub)
# returns exactly 0 when the operands cancel to within 2**-48 of their size, so that
# 0.3 - 0.1 - 0.2 is 0, not 5.6e-17. Without the same rule, a GMV of 3e12 minus a campaign GMV
# one cent smaller is 0 in the workbook but 0.0098 here, and a KPI divided by it disagrees by
# 15 orders of magnitude. Excel applies a similar adjustment. Mirrored exactly, including the
# exception for whole numbers.
_E48 = 1.0 / (16777216.0 * 16777216.0)
_E44 = _E48 * 16.0
_MAX_EXACT_INT = 2.0**53


def _whole(x: float) -> bool:
    return x.is_integer() and abs(x) <= _MAX_EXACT_INT


def approx_equal(a: float, b: float) -> bool:
    """LibreOffice's rtl::math::approxEqual: equal to about 15 significant digits."""
    if a == b:
        return True
    if a == 0.0 or b == 0.0:
        return False
    d = abs(a - b)
    if not math.isfinite(d):
        return False
    a, b = abs(a), abs(b)
    if d > a * _E44 or d > b * _E44:
        return False
    if _whole(d) and _whole(a) and _whole(b):
        return False
    return d < a * _E48 and d < b * _E48


def approx_add(a: float, b: float) -> float:
    if ((a < 0.0 < b) or (b < 0.0 < a)) and approx_equal(a, -b):
        return 0.0
    return a + b


def approx_sub(a: float, b: float) -> float:
    if ((a < 0.0 and b < 0.0) or (a > 0.0 and b > 0.0)) and approx_equal(a, b):
        return 0.0
    return a - b

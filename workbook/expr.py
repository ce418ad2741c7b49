"""The KPI expression language: one definition, an Excel formula and a Python value."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

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

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([a-z_][a-z0-9_]*)|(<=|>=|<>|.))")

# Conditions (the narrative's sentence variants, docs/narrative.md) add comparisons and four
# functions, each with one meaning in Excel, LibreOffice and Python:
# - a < b, a <= b, a = b, a <> b, a >= b, a > b: 1 (true) or 0 (false);
# - round(x, n): Excel's ROUND, half away from zero on the 15 significant digits Excel shows;
# - and(a, b, ...), or(a, b, ...), not(a): on 1/0 values.
# A blank operand still makes the whole result blank (a condition that is blank does not hold).
COMPARISONS = ("<", "<=", "=", "<>", ">=", ">")
Arity = tuple[int, int]  # a function's fewest and most arguments
FUNCTIONS: Mapping[str, Arity] = MappingProxyType(
    {"round": (2, 2), "and": (1, 30), "or": (1, 30), "not": (1, 1)}
)


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


@dataclass(frozen=True)
class Compare:
    """A comparison: < <= = <> >= >; 1 when it holds, 0 when not."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    """A function call: round, and, or, not."""

    name: str
    args: tuple[Node, ...]


Node = Num | Ref | Neg | BinOp | Compare | Call

_PRECEDENCE = MappingProxyType({"+": 1, "-": 1, "*": 2, "/": 2})


def parse(text: str, functions: Mapping[str, tuple[int, int]] = FUNCTIONS) -> Node:
    """Parse an expression; raise ExprError naming the position of the first problem.

    functions: the functions it may call, name -> (fewest, most arguments)."""
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
        elif other in ("+", "-", "*", "/", "(", ")", ",", *COMPARISONS):
            tokens.append(("op", other, start))
        else:
            raise ExprError(f"unexpected {other!r} at {start} in {text!r}")
        pos = m.end()
    parser = _Parser(text, tokens, functions)
    node = parser.comparison()
    if parser.index != len(tokens):
        raise ExprError(f"unexpected {tokens[parser.index][1]!r} in {text!r}")
    return node


class _Parser:
    def __init__(
        self, text: str, tokens: list[tuple[str, str, int]], functions: Mapping[str, Arity]
    ) -> None:
        self.functions = functions
        self.text = text
        self.tokens = tokens
        self.index = 0

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def comparison(self) -> Node:
        node = self.expression()
        tok = self._peek()
        if tok is not None and tok[0] == "op" and tok[1] in COMPARISONS:
            self.index += 1
            return Compare(tok[1], node, self.expression())
        return node

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
            nxt = self._peek()
            if nxt is not None and nxt[0] == "op" and nxt[1] == "(":
                return self.call(value, tok[2])
            return Ref(value)
        if value == "(":
            node = self.expression()
            close = self._peek()
            if close is None or close[1] != ")":
                raise ExprError(f"missing ')' in {self.text!r}")
            self.index += 1
            return node
        raise ExprError(f"unexpected {value!r} at {tok[2]} in {self.text!r}")

    def call(self, name: str, pos: int) -> Node:
        self.index += 1  # the "("
        args: list[Node] = []
        while True:
            args.append(self.comparison())
            tok = self._peek()
            if tok is None:
                raise ExprError(f"missing ')' in {self.text!r}")
            self.index += 1
            if tok[1] == ")":
                break
            if tok[1] != ",":
                raise ExprError(f"unexpected {tok[1]!r} at {tok[2]} in {self.text!r}")
        _call_check(self.functions, name, len(args), self.text, pos)
        if name == "round" and not isinstance(args[1], Num):
            raise ExprError(f"round() needs a whole number of places in {self.text!r}")
        return Call(name, tuple(args))


def _call_check(
    functions: Mapping[str, tuple[int, int]], name: str, count: int, text: str, pos: int
) -> None:
    if name not in functions:
        raise ExprError(f"unknown function {name!r} at {pos} in {text!r}")
    low, high = functions[name]
    if not low <= count <= high:
        raise ExprError(f"{name}() takes {low} to {high} arguments in {text!r}")


def references(node: Node) -> tuple[str, ...]:
    """The ids an expression reads, in first-use order, each once."""
    seen: dict[str, None] = {}

    def walk(n: Node) -> None:
        if isinstance(n, Ref):
            seen.setdefault(n.name, None)
        elif isinstance(n, Neg):
            walk(n.operand)
        elif isinstance(n, BinOp | Compare):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, Call):
            for a in n.args:
                walk(a)

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
    if isinstance(node, Compare):
        text = f"{to_excel(node.left)}{node.op}{to_excel(node.right)}"
        return f"({text})" if parent else text
    if isinstance(node, Call):
        return f"{node.name.upper()}({','.join(to_excel(a) for a in node.args)})"
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
    if isinstance(node, Call):
        args = [_eval(a, lookup) for a in node.args]
        if any(a is None for a in args):
            return None
        values = [a for a in args if a is not None]
        if node.name == "round":
            return excel_round(values[0], int(values[1]))
        if node.name == "and":
            return 1.0 if all(values) else 0.0
        if node.name == "or":
            return 1.0 if any(values) else 0.0
        return 0.0 if values[0] else 1.0  # not
    if isinstance(node, Compare):
        a, b = _eval(node.left, lookup), _eval(node.right, lookup)
        if a is None or b is None:
            return None
        return 1.0 if _COMPARE[node.op](a, b) else 0.0
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


_COMPARE: Mapping[str, Callable[[float, float], bool]] = MappingProxyType(
    {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        "=": lambda a, b: a == b,
        "<>": lambda a, b: a != b,
        ">=": lambda a, b: a >= b,
        ">": lambda a, b: a > b,
    }
)


def excel_round(value: float, places: int) -> float:
    """Excel's ROUND: half away from zero, on the value to 15 significant digits (so that
    0.0265 * 100, 2.6499999999999995 in binary, rounds to 2.7 at one place as Excel shows)."""
    shown = Decimal(format(value, ".15g"))
    return float(shown.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


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

"""The catalog query language: a small expression language over catalog columns.

A query such as ``"snr > snr.median() and truth in ['FRI', 'FRII']"`` is parsed with
Python's :mod:`ast` (``mode="eval"``) and evaluated by walking that tree against a pandas
DataFrame. It is never handed to Python's ``eval``, to ``pandas.eval`` or ``DataFrame.query``,
so a query can name columns and compute with them, and nothing else: there are no variables
(``@name``), no attribute access beyond the allowed methods, no imports, no subscripts.

Allowed
-------
- column names, bare (``snr``) or in backticks for names that are not identifiers
  (```radio ra```); ``nan``, ``inf``, ``True``, ``False`` and ``None`` are constants (a
  column with one of those names needs backticks)
- literals: integers (at most 2**63 in size), floats, strings (single or double quotes)
- comparisons ``== != < <= > >=``, chained as in ``1 < snr < 5``
- ``x in [...]`` and ``x not in [...]`` against a list, tuple or set of literals
- ``and``, ``or``, ``not`` and ``&``, ``|``, ``~``, all elementwise
- arithmetic on numbers: ``+ - * / // % **`` and unary ``-``/``+`` (exponents at most
  1024 in size); arithmetic on strings is refused
- functions :data:`FUNCTIONS`: ``abs(x)``, ``sqrt(x)``, ``log10(x)``, ``log(x)``, ``exp(x)``
- column methods :data:`METHODS`: ``.median()``, ``.mean()``, ``.std()``, ``.min()``,
  ``.max()``, ``.quantile(q)``, ``.abs()``, ``.isna()``, ``.notna()``,
  ``.between(lo, hi[, inclusive='both'|'neither'|'left'|'right'])``
- string methods :data:`STR_METHODS`: ``.str.contains(s[, case=False])`` (a plain
  substring, not a regular expression), ``.str.startswith(s)``, ``.str.endswith(s)``,
  ``.str.lower()``, ``.str.upper()``; a missing value never matches

Everything else is a :class:`~workbench.core.errors.QueryError` that names the construct, and
the whole query is checked before any of it is evaluated. The result must be one True/False
per row (a missing value of a nullable boolean counts as False).
"""

from __future__ import annotations

import ast
import math
import operator
import warnings
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from workbench.core.errors import QueryError

__all__ = ["MAX_QUERY_CHARS", "MAX_NODES", "MAX_DEPTH", "MAX_INT", "MAX_EXPONENT",
           "FUNCTIONS", "METHODS", "STR_METHODS", "Query", "parse_query", "query_mask"]

MAX_QUERY_CHARS = 10_000
"""Longest query accepted, in characters."""
MAX_NODES = 10_000
"""Most syntax-tree nodes in one query."""
MAX_DEPTH = 100
"""Deepest nesting of the syntax tree."""
MAX_INT = 2**63
"""Largest integer (in size) a literal or a computation on literals may have."""
MAX_EXPONENT = 1_024
"""Largest exponent (in size) of ``**`` when the exponent is a single number."""

FUNCTIONS = {"abs": np.abs, "sqrt": np.sqrt, "log10": np.log10, "log": np.log, "exp": np.exp}
"""Functions a query may call, each on one number or numeric column."""

# method -> (number of positional arguments, allowed keywords, needs a numeric column)
METHODS = {
    "median": (0, (), True), "mean": (0, (), True), "std": (0, (), True),
    "min": (0, (), False), "max": (0, (), False), "quantile": (1, (), True),
    "abs": (0, (), True), "isna": (0, (), False), "notna": (0, (), False),
    "between": (2, ("inclusive",), False),
}
"""Column methods a query may call: name -> (positional arguments, keywords, numeric only)."""
STR_METHODS = {
    "contains": (1, ("case",)), "startswith": (1, ()), "endswith": (1, ()),
    "lower": (0, ()), "upper": (0, ()),
}
"""String methods (``column.str.NAME(...)``): name -> (positional arguments, keywords)."""

_CONSTANTS = {"nan": math.nan, "inf": math.inf}
_INCLUSIVE = ("both", "neither", "left", "right")

_BINOPS = {
    ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub), ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv), ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod), ast.Pow: ("**", operator.pow),
}
_BITOPS = {ast.BitAnd: ("&", operator.and_), ast.BitOr: ("|", operator.or_)}
_CMPOPS = {
    ast.Eq: ("==", operator.eq), ast.NotEq: ("!=", operator.ne), ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le), ast.Gt: (">", operator.gt), ast.GtE: (">=", operator.ge),
}

# names of refused constructs, for the error message
_REFUSED = {
    ast.Subscript: "subscript [...]", ast.Slice: "slice", ast.Lambda: "lambda",
    ast.ListComp: "list comprehension", ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension", ast.GeneratorExp: "generator expression",
    ast.Dict: "dict literal", ast.JoinedStr: "f-string", ast.FormattedValue: "f-string",
    ast.NamedExpr: "assignment expression ':='", ast.Starred: "starred expression '*'",
    ast.IfExp: "conditional expression 'x if c else y'", ast.Await: "await",
    ast.Yield: "yield", ast.YieldFrom: "yield", ast.MatMult: "operator '@'",
    ast.LShift: "operator '<<'", ast.RShift: "operator '>>'", ast.BitXor: "operator '^'",
    ast.Is: "operator 'is'", ast.IsNot: "operator 'is not'",
}

_HINT = ("queries may use column names, literals, comparisons, and/or/not, 'in [...]', "
         "arithmetic, abs/sqrt/log10/log/exp and a few column methods such as .median() and "
         ".str.contains(s); see the README section 'Queries'")

Value = object  # a pandas Series (one value per row) or a single value
Step = Callable[[pd.DataFrame], Value]


def _short(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


class _Refuse(Exception):
    """Internal: a construct outside the language (turned into QueryError with the query)."""

    def __init__(self, message: str, construct: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.construct = construct
        self.hint = hint


# ---------------------------------------------------------------------------- tokens
def _placeholders(text: str) -> tuple[str, dict[str, str]]:
    """Replace each ```column name``` outside string literals by an identifier that cannot
    occur in ``text``; refuse ``@`` outside string literals. Returns the new text and the
    placeholder -> column name map."""
    prefix = "_wbq_col"
    while prefix in text:
        prefix += "_"
    out: list[str] = []
    names: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            quote = c * 3 if text.startswith(c * 3, i) else c
            j = i + len(quote)
            while j < n and not text.startswith(quote, j):
                if len(quote) == 1 and text[j] == "\n":
                    break
                j += 2 if text[j] == "\\" else 1
            j = min(n, j + len(quote))
            out.append(text[i:j])
            i = j
        elif c == "#":
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(text[i:j])
            i = j
        elif c == "@":
            raise _Refuse("'@' (a reference to a Python variable) is not allowed: queries "
                          "have no variables, only column names and literals", construct="@")
        elif c == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise _Refuse("a backtick-quoted column name is not closed", construct="`")
            if j == i + 1:
                raise _Refuse("an empty backtick-quoted column name", construct="``")
            key = f"{prefix}{len(names)}"
            names[key] = text[i + 1:j]
            out.append(f" {key} ")
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out), names


def _check_size(tree: ast.AST) -> None:
    count = 0
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise _Refuse(f"the query has more than {MAX_NODES} parts", construct="size")
        if depth > MAX_DEPTH:
            raise _Refuse(f"the query nests deeper than {MAX_DEPTH} levels", construct="depth")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


# ---------------------------------------------------------------------------- runtime checks
def _is_series(v) -> bool:
    return isinstance(v, pd.Series)


def _describe(v) -> str:
    if _is_series(v):
        return f"a column of {v.dtype}"
    return f"{type(v).__name__} {v!r}"[:80]


def _is_number(v) -> bool:
    if _is_series(v):
        return ptypes.is_numeric_dtype(v.dtype) and not ptypes.is_object_dtype(v.dtype)
    return isinstance(v, (bool, int, float, np.number, np.bool_))


def _need_number(v, what: str) -> None:
    if not _is_number(v):
        raise QueryError(f"{what} needs numbers, got {_describe(v)}", construct=what)


def _cap_int(v):
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT:
        raise QueryError(f"a number in the query is larger than {MAX_INT} (2**63)",
                         construct="large integer")
    return v


def _arith(symbol: str, fn, a, b):
    _need_number(a, f"operator {symbol!r}")
    _need_number(b, f"operator {symbol!r}")
    if symbol == "**" and not _is_series(b) and abs(float(b)) > MAX_EXPONENT:
        raise QueryError(f"an exponent of {b!r} is larger than {MAX_EXPONENT}",
                         construct="operator '**'")
    if not _is_series(a) and not _is_series(b) and symbol in ("/", "//", "%") and b == 0:
        raise QueryError(f"division by zero in operator {symbol!r}",
                         construct=f"operator {symbol!r}")
    with np.errstate(all="ignore"):
        out = fn(a, b)
    if isinstance(out, complex):
        raise QueryError(f"operator {symbol!r} on {a!r} and {b!r} gives a complex number",
                         construct=f"operator {symbol!r}")
    return _cap_int(out)


def _logical(symbol: str, a, b):
    if not _is_series(a) and not _is_series(b):
        return (bool(a) and bool(b)) if symbol == "and" else (bool(a) or bool(b))
    if not _is_series(a):  # scalar first: let the column decide the operation
        a, b = b, a
    return a & b if symbol == "and" else a | b


def _invert(v):
    if _is_series(v):
        return ~v
    if isinstance(v, (bool, np.bool_)):
        return not v
    if isinstance(v, (int, np.integer)):
        return ~v
    raise QueryError(f"'not'/'~' needs True/False, got {_describe(v)}", construct="not")


def _need_series(v, what: str) -> pd.Series:
    if not _is_series(v):
        raise QueryError(f"{what} needs a column, got {_describe(v)}", construct=what)
    return v


def _need_scalar(v, what: str, kinds: tuple[type, ...]):
    if _is_series(v) or not isinstance(v, kinds) or isinstance(v, bool) and bool not in kinds:
        raise QueryError(f"{what} needs a single {' or '.join(k.__name__ for k in kinds)}, "
                         f"got {_describe(v)}", construct=what)
    return v


# ---------------------------------------------------------------------------- the checker
class _Builder:
    """Checks every node of a parsed query and builds, without running anything, the steps
    that evaluate it."""

    def __init__(self, columns: Iterable, backticks: dict[str, str]):
        self.columns: dict[str, int] = {}
        for c in columns:
            if isinstance(c, str):
                self.columns[c] = self.columns.get(c, 0) + 1
        self.backticks = backticks

    # names -----------------------------------------------------------------
    def _column(self, name: str, shown: str) -> Step:
        n = self.columns.get(name, 0)
        if n == 0:
            raise _Refuse(f"unknown column {shown}", construct=f"name {shown}",
                          hint=_columns_hint(self.columns))
        if n > 1:
            raise _Refuse(f"column {shown} appears more than once in the catalog",
                          construct=f"name {shown}")
        return lambda frame: frame[name]

    def _name(self, node: ast.Name) -> Step:
        name = node.id
        if name in self.backticks:
            col = self.backticks[name]
            return self._column(col, f"`{col}`")
        if name.startswith("__") and name.endswith("__"):
            raise _not_allowed(f"the dunder name {name!r}", f"name {name}")
        if name in _CONSTANTS:
            value = _CONSTANTS[name]
            return lambda frame: value
        if name in FUNCTIONS and name not in self.columns:
            raise _not_allowed(f"the function {name!r} without a call", f"name {name}")
        return self._column(name, repr(name))

    # literals ----------------------------------------------------------------
    @staticmethod
    def _constant(node: ast.Constant) -> Step:
        v = node.value
        if isinstance(v, bool) or v is None or isinstance(v, (float, str)):
            return lambda frame: v
        if isinstance(v, int):
            if abs(v) > MAX_INT:
                raise _Refuse(f"the integer literal {str(v)[:30]}... is larger than 2**63",
                              construct="large integer")
            return lambda frame: v
        kind = {bytes: "bytes literal", complex: "complex number"}.get(type(v), type(v).__name__)
        raise _not_allowed(f"a {kind} ({v!r:.40})", kind)

    def _literal(self, node: ast.AST):
        """The value of a list element: a literal, optionally signed, or nan/inf."""
        if isinstance(node, ast.Constant):
            return self._constant(node)(None)
        if isinstance(node, ast.Name) and node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
                and (isinstance(node.operand, ast.Constant) and _is_number(node.operand.value)
                     and not isinstance(node.operand.value, bool)
                     or isinstance(node.operand, ast.Name) and node.operand.id in _CONSTANTS)):
            v = self._literal(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        what = f"name {node.id}" if isinstance(node, ast.Name) else _construct(node)
        raise _Refuse(f"{what} in a list: a list after 'in' or a keyword may hold only "
                      "literals (numbers, strings, True/False/None, nan, inf)", construct=what)

    # the walk ----------------------------------------------------------------
    def build(self, node: ast.AST) -> Step:
        if isinstance(node, ast.Expression):
            return self.build(node.body)
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.BoolOp):
            return self._boolop(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Attribute):
            self.build(node.value)  # report the first problem in reading order
            raise _not_allowed(f"the attribute .{node.attr}", f"attribute .{node.attr}",
                               "only the listed column methods may be called")
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            raise _not_allowed("a list, tuple or set outside 'in [...]'", _construct(node))
        raise _not_allowed(_construct(node), _construct(node))

    def _boolop(self, node: ast.BoolOp) -> Step:
        symbol = "and" if isinstance(node.op, ast.And) else "or"
        steps = [self.build(v) for v in node.values]

        def run(frame):
            out = steps[0](frame)
            for step in steps[1:]:
                out = _logical(symbol, out, step(frame))
            return out
        return run

    def _unary(self, node: ast.UnaryOp) -> Step:
        inner = self.build(node.operand)
        if isinstance(node.op, (ast.Not, ast.Invert)):
            return lambda frame: _invert(inner(frame))
        if isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, str):
            raise _not_allowed("arithmetic on a string", "string arithmetic")
        if isinstance(node.op, ast.USub):
            def neg(frame):
                v = inner(frame)
                _need_number(v, "unary '-'")
                return _cap_int(-v)
            return neg

        def pos(frame):
            v = inner(frame)
            _need_number(v, "unary '+'")
            return v
        return pos

    def _binop(self, node: ast.BinOp) -> Step:
        op = type(node.op)
        if op in _BITOPS:
            symbol, _ = _BITOPS[op]
            left, right = self.build(node.left), self.build(node.right)
            word = "and" if symbol == "&" else "or"
            return lambda frame: _logical(word, left(frame), right(frame))
        if op not in _BINOPS:
            raise _not_allowed(_construct(node.op), _construct(node.op))
        symbol, fn = _BINOPS[op]
        for side in (node.left, node.right):
            if isinstance(side, ast.Constant) and isinstance(side.value, str):
                raise _not_allowed(f"arithmetic on a string (operator {symbol!r})",
                                   "string arithmetic")
        left, right = self.build(node.left), self.build(node.right)
        return lambda frame: _arith(symbol, fn, left(frame), right(frame))

    def _compare(self, node: ast.Compare) -> Step:
        parts = [self.build(node.left)]
        ops = []
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(right, (ast.List, ast.Tuple, ast.Set)):
                    raise _Refuse("'in' needs a list of literals after it, e.g. "
                                  "truth in ['FRI', 'FRII']", construct="in")
                values = [self._literal(e) for e in right.elts]
                parts.append(lambda frame, values=values: values)
                ops.append(("not in" if isinstance(op, ast.NotIn) else "in", None))
            elif type(op) in _CMPOPS:
                parts.append(self.build(right))
                ops.append(_CMPOPS[type(op)])
            else:
                raise _not_allowed(_construct(op), _construct(op))

        def run(frame):
            values = [parts[0](frame)]
            out = None
            for k, (symbol, fn) in enumerate(ops):
                values.append(parts[k + 1](frame))
                a, b = values[k], values[k + 1]
                if symbol in ("in", "not in"):
                    r = a.isin(b) if _is_series(a) else any(_same(a, x) for x in b)
                    if symbol == "not in":
                        r = ~r if _is_series(r) else not r
                else:
                    try:
                        r = fn(a, b)
                    except (TypeError, ValueError) as exc:
                        raise QueryError(f"cannot compare {_describe(a)} {symbol} "
                                         f"{_describe(b)}: {exc}",
                                         construct=f"comparison {symbol}") from None
                out = r if out is None else _logical("and", out, r)
            return out
        return run

    def _call(self, node: ast.Call) -> Step:
        func = node.func
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise _not_allowed("a starred argument '*'", "starred expression '*'")
        for kw in node.keywords:
            if kw.arg is None:
                raise _not_allowed("keyword unpacking '**'", "'**' in a call")
        if isinstance(func, ast.Name):
            if func.id not in FUNCTIONS:
                raise _not_allowed(f"a call of {func.id}()", f"call {func.id}()",
                                   f"the functions are {', '.join(FUNCTIONS)}")
            self._arity(node, func.id + "()", 1, ())
            fn, arg = FUNCTIONS[func.id], self.build(node.args[0])

            def call(frame):
                v = arg(frame)
                _need_number(v, f"{func.id}()")
                with np.errstate(all="ignore"):
                    return fn(v)
            return call
        if not isinstance(func, ast.Attribute):
            raise _not_allowed("a call of something that is not a function or column "
                               "method", "call")
        name = func.attr
        target = func.value
        if isinstance(target, ast.Attribute) and target.attr == "str":
            receiver = self.build(target.value)  # first problem in reading order first
            if name not in STR_METHODS:
                raise _not_allowed(f"the method .str.{name}()", f"method .str.{name}()",
                                   "string methods: " + ", ".join(
                                       f".str.{m}()" for m in STR_METHODS))
            nargs, keywords = STR_METHODS[name]
            self._arity(node, f".str.{name}()", nargs, keywords)
            return self._str_method(name, receiver, node)
        receiver = self.build(target)
        if name not in METHODS:
            raise _not_allowed(f"the method .{name}()", f"method .{name}()",
                               "column methods: " + ", ".join(f".{m}()" for m in METHODS))
        nargs, keywords, numeric = METHODS[name]
        self._arity(node, f".{name}()", nargs, keywords)
        return self._method(name, numeric, receiver, node)

    @staticmethod
    def _arity(node: ast.Call, what: str, nargs: int, keywords: tuple[str, ...]) -> None:
        if len(node.args) != nargs:
            raise _Refuse(f"{what} takes {nargs} argument(s), got {len(node.args)}",
                          construct=f"arguments of {what}")
        for kw in node.keywords:
            if kw.arg not in keywords:
                raise _not_allowed(f"the keyword {kw.arg}= of {what}", f"keyword {kw.arg}=",
                                   f"{what} takes the keywords {list(keywords)}"
                                   if keywords else f"{what} takes no keywords")

    def _method(self, name: str, numeric: bool, target: Step, node: ast.Call) -> Step:
        args = [self.build(a) for a in node.args]
        kws = {kw.arg: self._literal(kw.value) for kw in node.keywords}
        if name == "between":
            inclusive = kws.get("inclusive", "both")
            if inclusive not in _INCLUSIVE:
                raise _Refuse(f"inclusive= must be one of {list(_INCLUSIVE)}",
                              construct="keyword inclusive=")

        def run(frame):
            s = _need_series(target(frame), f".{name}()")
            if numeric:
                _need_number(s, f".{name}()")
            values = [a(frame) for a in args]
            if name == "quantile":
                q = _need_scalar(values[0], ".quantile()", (int, float, np.number))
                if not 0 <= q <= 1:
                    raise QueryError(f".quantile(q) needs 0 <= q <= 1, got {q!r}",
                                     construct=".quantile()")
                return s.quantile(q)
            if name == "between":
                lo, hi = values
                try:
                    return s.between(lo, hi, inclusive=kws.get("inclusive", "both"))
                except (TypeError, ValueError) as exc:
                    raise QueryError(f"cannot apply .between() to {_describe(s)}: "
                                     f"{exc}", construct=".between()") from None
            try:
                return getattr(s, name)()  # name is one of METHODS, checked above
            except (TypeError, ValueError) as exc:
                raise QueryError(f"cannot apply .{name}() to {_describe(s)}: {exc}",
                                 construct=f".{name}()") from None
        return run

    def _str_method(self, name: str, target: Step, node: ast.Call) -> Step:
        args = [self.build(a) for a in node.args]
        for a in node.args:
            if isinstance(a, ast.Constant) and not isinstance(a.value, str):
                raise _Refuse(f".str.{name}() needs a string, got {a.value!r}",
                              construct=f"arguments of .str.{name}()")
        case = True
        for kw in node.keywords:
            case = self._literal(kw.value)
            if not isinstance(case, bool):
                raise _Refuse("case= must be True or False", construct="keyword case=")

        def run(frame):
            s = _need_series(target(frame), f".str.{name}()")
            if not (ptypes.is_string_dtype(s.dtype) or ptypes.is_object_dtype(s.dtype)):
                raise QueryError(f".str.{name}() needs a column of strings, got "
                                 f"{_describe(s)}", construct=f".str.{name}()")
            values = [_need_scalar(a(frame), f".str.{name}()", (str,)) for a in args]
            try:
                if name == "contains":
                    r = s.str.contains(values[0], case=case, regex=False, na=False)
                elif name == "startswith":
                    r = s.str.startswith(values[0], na=False)
                elif name == "endswith":
                    r = s.str.endswith(values[0], na=False)
                else:
                    return s.str.lower() if name == "lower" else s.str.upper()
            except (TypeError, ValueError, AttributeError) as exc:
                raise QueryError(f"cannot apply .str.{name}() to {_describe(s)}: "
                                 f"{exc}", construct=f".str.{name}()") from None
            return r.astype(bool)
        return run


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _not_allowed(what: str, construct: str, hint: str | None = None) -> _Refuse:
    return _Refuse(f"{what} is not allowed in a query", construct=construct, hint=hint)


def _construct(node: ast.AST) -> str:
    return _REFUSED.get(type(node), type(node).__name__)


def _columns_hint(columns: Iterable[str]) -> str:
    names = [repr(c)[1:-1] for c in columns]  # one line, whatever the names hold
    shown = ", ".join(names[:40]) + (f", ... ({len(names)} in all)" if len(names) > 40 else "")
    return f"columns are {shown}; put names with spaces or dots in backticks"


# ---------------------------------------------------------------------------- public API
class Query:
    """A checked query: ``Query.evaluate(frame)`` gives its boolean mask.

    Make one with :func:`parse_query`; nothing of the query runs until ``evaluate``.
    """

    def __init__(self, text: str, step: Step, columns: list[str], path=None):
        self.text = text
        self._step = step
        self._columns = columns
        self._path = path

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        """The rows of ``frame`` the query keeps, as a numpy bool array of ``len(frame)``."""
        try:
            with np.errstate(all="ignore"):
                out = self._step(frame)
        except QueryError as exc:
            raise QueryError(f"query {_short(self.text)}: {exc.reason}", query=self.text,
                             construct=exc.construct or "value", path=self._path,
                             hint=exc.hint or _columns_hint(self._columns)) from None
        except Exception as exc:  # pandas/numpy errors on the data, e.g. mixed types
            raise QueryError(f"query {_short(self.text)} cannot be evaluated: "
                             f"{type(exc).__name__}: {exc}", query=self.text, construct="value",
                             path=self._path, hint=_columns_hint(self._columns)) from None
        return _as_mask(out, len(frame), self.text, self._path)


def _as_mask(out, n: int, text: str, path) -> np.ndarray:
    if not _is_series(out):
        raise QueryError(f"query {_short(text)} gives one value ({_describe(out)}), not "
                         "True/False per row", query=text, construct="result", path=path,
                         hint="compare a column, e.g. snr > 5")
    if len(out) != n:  # cannot happen with the allowed methods; checked all the same
        raise QueryError(f"query {_short(text)} gives {len(out)} values for {n} rows",
                         query=text, construct="result", path=path)
    if ptypes.is_bool_dtype(out.dtype):
        if isinstance(out.dtype, pd.BooleanDtype) or out.hasnans:
            out = out.fillna(False)
        return np.asarray(out, dtype=bool)
    if ptypes.is_object_dtype(out.dtype) and all(
            isinstance(v, (bool, np.bool_)) for v in out):
        return np.asarray(out, dtype=bool)
    raise QueryError(f"query {_short(text)} gives {_describe(out)}, not True/False per row",
                     query=text, construct="result", path=path, hint="compare it, e.g. snr > 5")


def parse_query(text: str, columns: Iterable, *, path=None) -> Query:
    """Check ``text`` against the query language and the catalog's ``columns``.

    Raises
    ------
    QueryError
        The query is too long or too deep, is not valid syntax, or uses a construct, name or
        method outside the language; ``construct`` says which. Nothing has run.
    """
    columns = [c for c in columns if isinstance(c, str)]
    if not isinstance(text, str):
        raise QueryError(f"a query must be a string, got {type(text).__name__}", path=path,
                         construct="type")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(text)} characters long; at most "
                         f"{MAX_QUERY_CHARS} are allowed", query=text[:200], path=path,
                         construct="length")
    try:
        source, backticks = _placeholders(text)
        try:
            with warnings.catch_warnings():  # e.g. "1and": a SyntaxWarning, not our business
                warnings.simplefilter("ignore")
                tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError as exc:
            raise _Refuse(f"not valid syntax ({exc.msg})", construct="syntax") from None
        except RecursionError:
            raise _Refuse(f"nests too deeply to be parsed (at most {MAX_DEPTH} levels)",
                          construct="depth") from None
        except (ValueError, MemoryError) as exc:
            raise _Refuse(f"cannot be parsed ({type(exc).__name__}: {exc})",
                          construct="syntax") from None
        _check_size(tree)
        step = _Builder(columns, backticks).build(tree)
    except _Refuse as exc:
        raise QueryError(f"query {_short(text)}: {exc}", query=text, construct=exc.construct,
                         path=path, hint=exc.hint or _HINT) from None
    return Query(text, step, columns, path=path)


def query_mask(text: str, frame: pd.DataFrame, *, path=None) -> np.ndarray:
    """The rows of ``frame`` matching query ``text``, as a bool array of ``len(frame)``.

    The whole query is checked (:func:`parse_query`) before any of it is evaluated. Raises
    :class:`~workbench.core.errors.QueryError` for anything outside the language and for
    values it cannot compare or compute with (the hint lists the columns).
    """
    return parse_query(text, frame.columns, path=path).evaluate(frame)

"""Fuzzing the catalog query language: random queries built from allowed pieces agree with the
equivalent pandas expression; random strings and trees mixing in forbidden pieces end in a
QueryError (or a valid mask), never another exception, and never run code."""

from __future__ import annotations

import operator
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core.errors import QueryError
from workbench.io.query import query_mask

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])

_rng = np.random.default_rng(11)
_N = 25
_A = _rng.normal(size=_N) * 3
_A[[2, 9]] = np.nan
FRAME = pd.DataFrame({
    "a": _A,
    "b": _rng.integers(-4, 5, _N).astype(float),
    "i": _rng.integers(-3, 4, _N),
    "flag": _rng.random(_N) < 0.5,
    "truth": _rng.choice(["FRI", "FRII", "compact"], _N),
    "s": pd.Series([None if k % 5 == 0 else f"J{k}{'ab'[k % 2]}" for k in range(_N)],
                   dtype=object),
    "radio ra": _rng.uniform(0, 360, _N),
})

# ---------------------------------------------------------------- allowed queries + oracle
# Each strategy yields (text, fn): fn(frame) computes the same thing with pandas directly.


def _col(name, shown=None):
    return st.just((shown or name, lambda d, name=name: d[name]))


_num_leaf = st.one_of(
    _col("a"), _col("b"), _col("i"), _col("radio ra", "`radio ra`"),
    st.integers(-9, 9).map(lambda v: (f"({v})", lambda d, v=v: v)),
    st.sampled_from([0.5, 1.25, 2.0]).map(lambda v: (repr(v), lambda d, v=v: v)),
    st.sampled_from(["median", "mean", "std", "min", "max"]).flatmap(
        lambda m: st.sampled_from(["a", "b", "i"]).map(
            lambda c: (f"{c}.{m}()", lambda d, c=c, m=m: getattr(d[c], m)()))),
    st.sampled_from([0.1, 0.5, 0.9]).map(
        lambda q: (f"a.quantile({q})", lambda d, q=q: d["a"].quantile(q))),
)

_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def _num_node(children):
    binop = st.tuples(children, st.sampled_from(sorted(_ARITH)), children).map(
        lambda t: (f"({t[0][0]} {t[1]} {t[2][0]})",
                   lambda d, t=t: _ARITH[t[1]](t[0][1](d), t[2][1](d))))
    neg = children.map(lambda c: (f"(-{c[0]})", lambda d, c=c: -c[1](d)))
    absf = children.map(lambda c: (f"abs({c[0]})", lambda d, c=c: abs(c[1](d))))
    return st.one_of(binop, neg, absf)


_num = st.recursive(_num_leaf, _num_node, max_leaves=6)

_CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}


def _compare():
    one = st.tuples(_num, st.sampled_from(sorted(_CMP)), _num).map(
        lambda t: (f"{t[0][0]} {t[1]} {t[2][0]}",
                   lambda d, t=t: _CMP[t[1]](t[0][1](d), t[2][1](d))))
    chain = st.tuples(_num, st.sampled_from(["<", "<="]), _col("a"),
                      st.sampled_from(["<", "<="]), _num).map(
        lambda t: (f"{t[0][0]} {t[1]} {t[2][0]} {t[3]} {t[4][0]}",
                   lambda d, t=t: _and(_CMP[t[1]](t[0][1](d), t[2][1](d)),
                                       _CMP[t[3]](t[2][1](d), t[4][1](d)))))
    member = st.tuples(st.sampled_from(["truth", "i"]), st.booleans(),
                       st.lists(st.sampled_from(["FRI", "FRII", "x", 1, -2, 3]), max_size=4)
                       ).map(lambda t: (f"{t[0]} {'not in' if t[1] else 'in'} {t[2]!r}",
                                        lambda d, t=t: d[t[0]].isin(t[2]) ^ t[1]))
    strs = st.tuples(st.sampled_from(["contains", "startswith", "endswith"]),
                     st.sampled_from(["J", "a", "b", "J1", "", "."])).map(
        lambda t: (f"s.str.{t[0]}({t[1]!r})",
                   lambda d, t=t: (d.s.str.contains(t[1], regex=False, na=False)
                                   if t[0] == "contains"
                                   else getattr(d.s.str, t[0])(t[1], na=False))))
    other = st.sampled_from([
        ("flag", lambda d: d.flag),
        ("a.isna()", lambda d: d.a.isna()),
        ("a.notna()", lambda d: d.a.notna()),
        ("b.between(-1, 2)", lambda d: d.b.between(-1, 2)),
        ("truth.str.lower() == 'fri'", lambda d: d.truth.str.lower() == "fri"),
    ])
    return st.one_of(one, chain, member, strs, other)


def _and(x, y):
    if isinstance(x, pd.Series) or isinstance(y, pd.Series):
        return (x if isinstance(x, pd.Series) else y) & (y if isinstance(x, pd.Series) else x)
    return bool(x) and bool(y)


def _or(x, y):
    if isinstance(x, pd.Series) or isinstance(y, pd.Series):
        return (x if isinstance(x, pd.Series) else y) | (y if isinstance(x, pd.Series) else x)
    return bool(x) or bool(y)


def _not(x):
    return ~x if isinstance(x, pd.Series) else not x


def _bool_node(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["and", "&"]), children).map(
            lambda t: (f"({t[0][0]}) {t[1]} ({t[2][0]})",
                       lambda d, t=t: _and(t[0][1](d), t[2][1](d)))),
        st.tuples(children, st.sampled_from(["or", "|"]), children).map(
            lambda t: (f"({t[0][0]}) {t[1]} ({t[2][0]})",
                       lambda d, t=t: _or(t[0][1](d), t[2][1](d)))),
        st.tuples(st.sampled_from(["not ", "~"]), children).map(
            lambda t: (f"{t[0]}({t[1][0]})", lambda d, t=t: _not(t[1][1](d)))),
    )


ALLOWED_QUERIES = st.recursive(_compare(), _bool_node, max_leaves=4)


@settings(max_examples=250, **SETTINGS)
@given(ALLOWED_QUERIES)
def test_fuzz_allowed_queries_agree_with_pandas(pair):
    text, fn = pair
    with np.errstate(all="ignore"):
        want = fn(FRAME)
    if not isinstance(want, pd.Series):  # every leaf a literal: one value, not a mask
        with pytest.raises(QueryError):
            query_mask(text, FRAME)
        return
    got = query_mask(text, FRAME)
    np.testing.assert_array_equal(got, np.asarray(want.fillna(False), dtype=bool),
                                  err_msg=text)


# ---------------------------------------------------------------- hostile strings and trees
_SENTINEL_DIR = Path(tempfile.mkdtemp(prefix="wb-query-fuzz-"))
_SENTINEL = _SENTINEL_DIR / "ran"

_HOSTILE_PIECES = [
    f"__import__('os').system('touch {_SENTINEL}')",
    f"open('{_SENTINEL}', 'w')",
    f"@__import__('pathlib').Path('{_SENTINEL}').touch()",
    f"a.to_csv('{_SENTINEL}')",
    f"(lambda: open('{_SENTINEL}', 'w'))()",
    f"[open('{_SENTINEL}', 'w') for _ in [1]]",
    f"a.__class__.__init__.__globals__['os'].system('touch {_SENTINEL}')",
    f"(x := open('{_SENTINEL}', 'w'))",
    f"f'{{open(\"{_SENTINEL}\", \"w\")}}'",
    f"getattr(a, 'to_csv')('{_SENTINEL}')",
    f"a.pipe(open, '{_SENTINEL}')",
    "@os", "@self.path", "self", "os.system", "eval('1')", "exec('1')", "__builtins__",
    "a[0]", "a.values", "a.__dict__", "lambda: 1", "*a", "**a", "'x' * 10**9",
    "10 ** 10 ** 10", "1 << 99999", "a if a else b", "b'x'", "1j", "...",
]
_ALLOWED_PIECES = [
    "a", "b", "i", "flag", "truth", "s", "`radio ra`", "`radio", "ra`", "0", "1.5", "-2",
    "'FRI'", '"J1"', "nan", "inf", "True", "None", "a.median()", "a.isna()",
    "s.str.contains('J')", "truth in ['FRI']", "abs(a)", "b.between(0, 1)", "a.quantile(0.5)",
]
_GLUE = [" and ", " or ", " not ", " & ", " | ", " ~", " == ", " < ", " >= ", " + ", " * ",
         " ** ", " / ", " % ", " in ", "(", ")", "[", "]", ", ", ".", "'", '"', "`", "@", " "]

# refused by the checker alone ("10 ** 10 ** 10" is refused while evaluating, before the
# power is computed)
_STATIC_REFUSALS = [p for p in _HOSTILE_PIECES if p != "10 ** 10 ** 10"]

HOSTILE_STRINGS = st.lists(
    st.one_of(st.sampled_from(_HOSTILE_PIECES), st.sampled_from(_ALLOWED_PIECES),
              st.sampled_from(_GLUE)), min_size=1, max_size=12).map("".join)


def _check_only_query_error(text):
    try:
        mask = query_mask(text, FRAME)
    except QueryError as exc:
        assert "\n" not in str(exc)  # one line, whatever the query held
    else:
        assert mask.dtype == bool and mask.shape == (len(FRAME),)
    assert not _SENTINEL.exists(), f"query {text!r} ran code"


@settings(max_examples=400, **SETTINGS)
@given(HOSTILE_STRINGS)
def test_fuzz_hostile_strings_only_raise_query_error(text):
    _check_only_query_error(text)


@settings(max_examples=200, **SETTINGS)
@given(st.text(max_size=60))
def test_fuzz_random_text_only_raises_query_error(text):
    _check_only_query_error(text)


@settings(max_examples=200, **SETTINGS)
@given(ALLOWED_QUERIES, st.sampled_from(_STATIC_REFUSALS), st.sampled_from([" and ", " | ",
                                                                            " == ", " < "]),
       st.booleans())
def test_fuzz_hostile_piece_in_allowed_tree_is_refused_before_anything_runs(pair, piece, glue,
                                                                             first):
    text = f"({piece}){glue}({pair[0]})" if first else f"({pair[0]}){glue}({piece})"

    class Spy(pd.DataFrame):
        reads = 0

        def __getitem__(self, key):
            Spy.reads += 1
            return super().__getitem__(key)

    spy = Spy(FRAME)
    with pytest.raises(QueryError):
        query_mask(text, spy)
    assert Spy.reads == 0, f"{text!r} read a column before being refused"
    assert not _SENTINEL.exists()

"""The catalog query language (workbench.io.query): what it allows gives the same rows as the
equivalent pandas expression; what it refuses is a QueryError naming the construct, raised
before anything is evaluated and without side effects."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.core.errors import QueryError
from workbench.io.query import (
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_QUERY_CHARS,
    parse_query,
    query_mask,
)


@pytest.fixture
def df():
    rng = np.random.default_rng(3)
    n = 40
    a = rng.normal(size=n) * 10
    a[[3, 17]] = np.nan
    return pd.DataFrame({
        "a": a,
        "b": rng.uniform(0, 5, n),
        "i": rng.integers(-5, 20, n),
        "s": pd.Series([None if k % 7 == 0 else f"J{k:02d}x{'FR' if k % 3 else 'fr'}"
                        for k in range(n)], dtype=object),
        "truth": rng.choice(["FRI", "FRII", "compact"], n),
        "flag": rng.random(n) < 0.5,
        "radio ra": rng.uniform(0, 360, n),
        "x.y": np.arange(n, dtype=float),
        "nb": pd.array([True, None, False, True] * (n // 4), dtype="boolean"),
    })


def _mask(series) -> np.ndarray:
    return np.asarray(pd.Series(series).fillna(False), dtype=bool)


ALLOWED = [
    ("a > 0", lambda d: d.a > 0),
    ("a > a.median()", lambda d: d.a > d.a.median()),
    ("a >= a.mean() - a.std()", lambda d: d.a >= d.a.mean() - d.a.std()),
    ("i == i.max() or i == i.min()", lambda d: (d.i == d.i.max()) | (d.i == d.i.min())),
    ("a < a.quantile(0.25)", lambda d: d.a < d.a.quantile(0.25)),
    ("1 < b < 3", lambda d: (d.b > 1) & (d.b < 3)),
    ("0 <= b <= 2 != i", lambda d: (d.b >= 0) & (d.b <= 2) & (d.i != 2)),
    ("truth == 'FRII'", lambda d: d.truth == "FRII"),
    ('truth != "FRI"', lambda d: d.truth != "FRI"),
    ("truth in ['FRI', 'FRII']", lambda d: d.truth.isin(["FRI", "FRII"])),
    ("truth not in ('FRI',)", lambda d: ~d.truth.isin(["FRI"])),
    ("i in {1, 2, -3}", lambda d: d.i.isin([1, 2, -3])),
    ("a in [nan]", lambda d: d.a.isna()),
    ("a > 0 and b < 2", lambda d: (d.a > 0) & (d.b < 2)),
    ("a > 0 or b < 2 or flag", lambda d: (d.a > 0) | (d.b < 2) | d.flag),
    ("not flag", lambda d: ~d.flag),
    ("not (a > 0)", lambda d: ~(d.a > 0)),
    ("(a > 0) & ~flag | (i == 3)", lambda d: ((d.a > 0) & ~d.flag) | (d.i == 3)),
    ("flag == True", lambda d: d.flag),
    ("a + b * 2 - i / 4 > 1", lambda d: d.a + d.b * 2 - d.i / 4 > 1),
    ("i // 3 == 1", lambda d: d.i // 3 == 1),
    ("i % 2 == 0", lambda d: d.i % 2 == 0),
    ("b ** 2 > 4", lambda d: d.b ** 2 > 4),
    ("2 ** b > 4", lambda d: 2 ** d.b > 4),
    ("-a > 1", lambda d: -d.a > 1),
    ("+a > 1", lambda d: d.a > 1),
    ("abs(a) < 5", lambda d: d.a.abs() < 5),
    ("a.abs() < 5", lambda d: d.a.abs() < 5),
    ("sqrt(b) > 1", lambda d: np.sqrt(d.b) > 1),
    ("log10(b) > 0", lambda d: np.log10(d.b) > 0),
    ("log(b) < exp(0)", lambda d: np.log(d.b) < 1),
    ("a.isna()", lambda d: d.a.isna()),
    ("a.notna() & s.isna()", lambda d: d.a.notna() & d.s.isna()),
    ("b.between(1, 2)", lambda d: d.b.between(1, 2)),
    ("i.between(0, 5, inclusive='neither')", lambda d: d.i.between(0, 5, inclusive="neither")),
    ("s.str.contains('FR')", lambda d: d.s.str.contains("FR", regex=False, na=False)),
    ("s.str.contains('fr', case=False)",
     lambda d: d.s.str.contains("fr", case=False, regex=False, na=False)),
    ("s.str.contains('.')", lambda d: d.s.str.contains(".", regex=False, na=False)),
    ("s.str.startswith('J1')", lambda d: d.s.str.startswith("J1", na=False)),
    ("s.str.endswith('fr')", lambda d: d.s.str.endswith("fr", na=False)),
    ("truth.str.lower() == 'frii'", lambda d: d.truth.str.lower() == "frii"),
    ("truth.str.upper() in ['COMPACT']", lambda d: d.truth.str.upper().isin(["COMPACT"])),
    ("`radio ra` > 180", lambda d: d["radio ra"] > 180),
    ("`x.y` % 4 == 0 and `radio ra` < 90", lambda d: (d["x.y"] % 4 == 0) & (d["radio ra"] < 90)),
    ("`a` > inf or a < -inf", lambda d: (d.a > math.inf) | (d.a < -math.inf)),
    ("nb", lambda d: d.nb.fillna(False)),
    ("truth == 'it''s'", lambda d: d.truth == "its"),  # adjacent literals concatenate
    ("truth == 'a`b' or s == \"@x\"", lambda d: (d.truth == "a`b") | (d.s == "@x")),
    ("a > 0  # a comment with @ and `backticks`", lambda d: d.a > 0),
    ("(\n a > 0\n and b > 1)", lambda d: (d.a > 0) & (d.b > 1)),
]


@pytest.mark.parametrize("text,expected", ALLOWED, ids=[t for t, _ in ALLOWED])
def test_allowed_construct_matches_pandas(df, text, expected):
    got = query_mask(text, df)
    assert got.dtype == bool and got.shape == (len(df),)
    np.testing.assert_array_equal(got, _mask(expected(df)))


@pytest.mark.parametrize("text", [
    "a > a.median()", "truth == 'FRII'", "1 < b < 3", "truth in ['FRI', 'FRII']",
    "a > 0 and not flag", "b.between(1, 2)", "abs(a) < 5 or i % 2 == 0",
    "`radio ra` > 180",
])
def test_queries_that_pandas_query_accepted_keep_their_rows(df, text):
    # the strings are this test's own, so handing them to pandas here runs nothing foreign
    np.testing.assert_array_equal(query_mask(text, df), df.eval(text).to_numpy(dtype=bool))


REFUSED = [
    ("@os.getpid()", "@"),
    ("a > 0 and @os.system('touch x') == 0", "@"),
    ("__import__('os').system('true') == 0", "call __import__()"),
    ("open('x', 'w').write('y') > 0", "call open()"),
    ("getattr(a, 'values')", "call getattr()"),
    ("a.__class__ == 1", "attribute .__class__"),
    ("a.values > 0", "attribute .values"),
    ("a.apply(print) > 0", "method .apply()"),
    ("a.to_csv('x') == 0", "method .to_csv()"),
    ("s.str.replace('a', 'b') == 'c'", "method .str.replace()"),
    ("s.str.contains('a', regex=True)", "keyword regex="),
    ("a.median(skipna=False) > 0", "keyword skipna="),
    ("a.between(*[1, 2])", "starred expression '*'"),
    ("a.between(**{})", "'**' in a call"),
    ("a.median(1) > 0", "arguments of .median()"),
    ("a[0] > 1", "subscript [...]"),
    ("a[1:2] > 1", "subscript [...]"),
    ("(lambda: 1)() == 1", "call"),
    ("lambda: 1", "lambda"),
    ("[x for x in a] == 1", "list comprehension"),
    ("any(x for x in a)", "call any()"),
    ("{k: 1 for k in a} == 1", "dict comprehension"),
    ("{1: 2} == a", "dict literal"),
    ("f'{a}' == 'x'", "f-string"),
    ("(y := a) > 0", "assignment expression ':='"),
    ("a if flag else b", "conditional expression 'x if c else y'"),
    ("a @ b", "@"),
    ("i << 3 > 0", "operator '<<'"),
    ("i >> 3 > 0", "operator '>>'"),
    ("i ^ 3 > 0", "operator '^'"),
    ("a is None", "operator 'is'"),
    ("a is not None", "operator 'is not'"),
    ("a in b", "in"),
    ("a == [1, 2]", "List"),
    ("a in [b]", "name b"),
    ("__builtins__ == 1", "name __builtins__"),
    ("nope > 1", "name 'nope'"),
    ("`no such` > 1", "name `no such`"),
    ("`unclosed > 1", "`"),
    ("`` > 1", "``"),
    ("abs > 1", "name abs"),
    ("b'x' == s", "bytes literal"),
    ("1j == a", "complex number"),
    ("... == a", "ellipsis"),
    ("'a' * 10**9 == s", "string arithmetic"),
    ("'%s' % a == s", "string arithmetic"),
    ("-'a' == s", "string arithmetic"),
    ("a > 99999999999999999999999", "large integer"),
    ("a >", "syntax"),
    ("a > 0; import os", "syntax"),
    ("import os", "syntax"),
    ("a\x00 > 0", "syntax"),
    ("s.str.contains(1)", "arguments of .str.contains()"),
    ("s.str.contains('a', case='yes')", "keyword case="),
    ("a.between(1, 2, inclusive='all')", "keyword inclusive="),
]


@pytest.mark.parametrize("text,construct", REFUSED, ids=[t for t, _ in REFUSED])
def test_hostile_construct_is_refused_by_name(df, text, construct):
    with pytest.raises(QueryError) as info:
        query_mask(text, df)
    err = info.value
    assert construct.lower() in (err.construct or "").lower()
    assert err.query == text
    assert "\n" not in str(err)


def test_refusal_needs_no_data_and_touches_no_row(df):
    """The whole tree is checked before evaluation: a refused query never reads a column."""

    class Spy(pd.DataFrame):
        reads = 0

        def __getitem__(self, key):
            Spy.reads += 1
            return super().__getitem__(key)

    spy = Spy(df)
    with pytest.raises(QueryError):
        query_mask("a > 0 and b > 1 and a.to_csv('x') == 0", spy)
    with pytest.raises(QueryError):  # the bad part comes last, after valid comparisons
        query_mask("(a > 0) & (b < 1) & (i == 2) & open('x')", spy)
    assert Spy.reads == 0
    query_mask("a > 0", spy)
    assert Spy.reads == 1
    with pytest.raises(QueryError):
        parse_query("a > 0 and a.__class__", ["a"])  # columns only, no frame at all


def test_hostile_queries_have_no_side_effect(df, tmp_path):
    target = tmp_path / "written"
    hostile = [
        f"open({str(target)!r}, 'w').write('x') > 0",
        f"__import__('pathlib').Path({str(target)!r}).write_text('x') > 0",
        f"a > 0 and @__import__('os').system('touch {target}') == 0",
        f"__import__('os').system('touch {target}') == 0",
        f"a.to_csv({str(target)!r}) == 0",
        f"a.__class__.__init__.__globals__['os'].system('touch {target}')",
        f"[__import__('os').system('touch {target}') for _ in [1]]",
        f"(lambda: __import__('os').system('touch {target}'))() == 0",
        f"a > 0 or print(open({str(target)!r}, 'w'))",
    ]
    for text in hostile:
        with pytest.raises(QueryError):
            query_mask(text, df)
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_hostile_select_write_text_attack_writes_nothing(tmp_path):
    from workbench.sims.radio import simulate_radio

    coll = simulate_radio(tmp_path / "sim", n=6, seed=4, size=32, infrared=False)
    coll = workbench.open(tmp_path / "sim")
    before = sorted(p.name for p in coll.path.iterdir())
    for text in ["@self.path.joinpath('x').write_text('hi') > 0",
                 "self.path.joinpath('x').write_text('hi') > 0",
                 "snr.__class__.__module__ == 'x'"]:
        with pytest.raises(QueryError) as info:
            coll.select(text)
        assert str(coll.path) in str(info.value)  # names the Collection
    assert sorted(p.name for p in coll.path.iterdir()) == before
    assert not (coll.path / "x").exists()


def test_notebook_and_readme_queries_on_a_collection(tmp_path):
    from workbench.sims.radio import simulate_radio

    simulate_radio(tmp_path / "sim", n=30, seed=1, size=32, infrared=False)
    coll = workbench.open(tmp_path / "sim")
    cat = coll.catalog
    bright = coll.select("flux_jy > flux_jy.median()")
    assert list(bright.ids) == list(cat.loc[cat.flux_jy > cat.flux_jy.median(), "id"])
    for cls in sorted(cat["truth"].unique()):
        view = coll.select(f"truth == '{cls}'")
        assert set(view.catalog["truth"]) == {cls}
        assert len(view) == int((cat["truth"] == cls).sum())
    both = coll.select('snr > snr.median() and truth in ["FRI", "FRII"]')
    want = (cat.snr > cat.snr.median()) & cat.truth.isin(["FRI", "FRII"])
    assert list(both.ids) == list(cat.loc[want, "id"])
    # a view's select works on the view's rows
    again = bright.select("snr > 0")
    assert list(again.ids) == list(bright.catalog.loc[bright.catalog.snr > 0, "id"])


@pytest.mark.parametrize("text,construct", [
    ("a" * (MAX_QUERY_CHARS + 1), "length"),
    ("(" * 250 + "a > 0" + ")" * 250, "syntax"),            # Python's own nesting limit
    ("-" * 5000 + "a > 0", "depth"),
    ("not " * (MAX_DEPTH + 5) + "flag", "depth"),
    ("a > 0" + " & (a > 0)" * (MAX_DEPTH + 5), "depth"),
    ("10 ** 10 ** 10 > a", "operator '**'"),
    (f"b ** {MAX_EXPONENT + 1} > 0", "operator '**'"),
    ("2 ** 100 > a", "large integer"),
    ("9223372036854775807 * 9223372036854775807 > a", "large integer"),
    ("s * 1000000000 == 'x'", "operator '*'"),
    ("truth + truth == 'x'", "operator '+'"),
    ("truth.max() * 1000000000 == s", "operator '*'"),
    ("1e308 ** 2 > a", "value"),
    ("(-8) ** 0.5 < a", "operator '**'"),
    ("1 / 0 < a", "operator '/'"),
])
def test_hostile_resource_bombs_are_refused(df, text, construct):
    with pytest.raises(QueryError) as info:
        query_mask(text, df)
    assert info.value.construct == construct


@pytest.mark.parametrize("text,construct", [
    ("True", "result"),
    ("a.median() > 0", "result"),
    ("a + 1", "result"),
    ("truth.str.lower()", "result"),
    ("truth > 5", "comparison >"),
    ("truth.mean() > 0", ".mean()"),
    ("a.str.contains('x')", ".str.contains()"),
    ("a.quantile(2) > 0", ".quantile()"),
    ("a.quantile('x') > 0", ".quantile()"),
    ("a.median().abs() > 0", ".abs()"),
    ("sqrt(truth) > 0", "sqrt()"),
    ("not a", "value"),
])
def test_bad_values_are_query_errors_with_columns_hint(df, text, construct):
    with pytest.raises(QueryError) as info:
        query_mask(text, df, path="/some/coll")
    err = info.value
    assert err.construct == construct
    assert str(err).startswith("/some/coll: query ")
    assert "\n" not in str(err)
    if construct not in ("result",):
        assert "columns are a, b, i, s, truth, flag, radio ra, x.y, nb" in str(err)


def test_columns_shadowing_names_and_reserved_constants():
    d = pd.DataFrame({"log": [1.0, 20.0], "nan": [1, 2], "__x__": [3, 4]})
    np.testing.assert_array_equal(query_mask("log > 10", d), [False, True])  # a column
    np.testing.assert_array_equal(query_mask("log(log) > 1", d), [False, True])
    np.testing.assert_array_equal(query_mask("`nan` == 2", d), [False, True])
    np.testing.assert_array_equal(query_mask("`__x__` == 3", d), [True, False])
    with pytest.raises(QueryError) as info:
        query_mask("__x__ == 3", d)
    assert info.value.construct == "name __x__"


def test_duplicate_column_names_are_refused():
    d = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(QueryError, match="more than once"):
        query_mask("a > 0", d)


def test_empty_frame_gives_empty_mask():
    d = pd.DataFrame({"a": pd.Series([], dtype=float)})
    assert query_mask("a > a.median()", d).shape == (0,)


def test_non_string_query_is_refused(df):
    with pytest.raises(QueryError, match="must be a string"):
        query_mask(b"a > 0", df)

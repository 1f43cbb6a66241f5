"""Label schemes: shipped trees, validation of every answer type, user scheme files."""

from __future__ import annotations

import json

import pytest

from workbench.core.errors import SchemeError
from workbench.core.schemes import Scheme, get_scheme, list_schemes, load_scheme

USER = {
    "name": "test-tree", "version": 2, "title": "Tree",
    "questions": [
        {"id": "kind", "type": "choice", "text": "What?", "answers": [
            {"value": "star", "label": "Star", "key": "1", "next": "colour"},
            {"value": "galaxy", "label": "Galaxy", "key": "2", "next": "features"},
            {"value": "artefact", "label": "Artefact", "key": "3"}]},
        {"id": "colour", "type": "choice", "text": "Colour?", "next": "where",
         "answers": [{"value": "red", "label": "Red", "key": "1"},
                     {"value": "blue", "label": "Blue", "key": "2"}]},
        {"id": "features", "type": "multi", "text": "Features?", "next": "note", "max": 2,
         "answers": [{"value": "bar", "label": "Bar", "key": "1"},
                     {"value": "spiral", "label": "Spiral", "key": "2"},
                     {"value": "ring", "label": "Ring", "key": "3"}]},
        {"id": "where", "type": "position", "text": "Click it", "nullable": False},
        {"id": "note", "type": "text", "text": "Anything else?", "required": False,
         "max_length": 10},
    ],
}


def test_shipped_schemes():
    names = {s.name for s in list_schemes()}
    assert {"rgz", "caesar-mrcnn", "fr-morphology", "transient", "lens-grade"} <= names
    assert get_scheme("caesar-mrcnn").classes == ["spurious", "compact", "extended",
                                                  "extended-multisland", "flagged"]
    assert get_scheme("transient").classes == ["pulsar", "frb", "broadband_rfi",
                                               "narrowband_rfi", "noise", "unsure"]
    assert get_scheme("lens-grade").classes == ["A", "B", "C", "not_a_lens"]
    fr = get_scheme("fr-morphology")
    assert fr.first == "morphology" and fr.classes == ["FRI", "FRII", "hybrid"]
    assert fr.next_question("morphology", "FRII") == "confidence"
    assert [a.key for a in fr.question("morphology").answers] == ["1", "2", "3"]
    assert get_scheme("rgz").first == "sources"
    with pytest.raises(SchemeError, match="no label scheme named 'nope'"):
        get_scheme("nope")
    with pytest.raises(SchemeError, match="no version 9"):
        get_scheme("rgz", 9)


def test_tree_paths_and_types():
    s = Scheme.from_dict(USER)
    assert s.validate({"kind": "artefact"}) == {"kind": "artefact"}
    assert s.validate({"kind": "star", "colour": "red", "where": {"x": 3, "y": 4.5}}) == \
        {"kind": "star", "colour": "red", "where": {"x": 3.0, "y": 4.5}}
    assert s.validate({"kind": "galaxy", "features": ["ring", "bar"]}) == \
        {"kind": "galaxy", "features": ["bar", "ring"]}  # optional note may be left out
    cases = [
        ({"kind": "planet"}, "question 'kind': answer 'planet' is not allowed"),
        ({"kind": "star", "colour": "red"}, "question 'where' is not answered"),
        ({"kind": "star", "colour": "red", "where": None}, "'where': a position is required"),
        ({"kind": "star", "colour": "red", "where": {"x": "a", "y": 1}}, "non-numeric"),
        ({"kind": "artefact", "colour": "red"}, r"answers to questions \['colour'\] are not on"),
        ({"kind": "galaxy", "features": ["bar", "bar"]}, "repeat a value"),
        ({"kind": "galaxy", "features": ["bar", "ring", "spiral"]}, "between 0 and 2"),
        ({"kind": "galaxy", "features": ["wings"]}, "answer 'wings' is not allowed"),
        ({"kind": "galaxy", "features": [], "note": "x" * 11}, "at most 10"),
        (["kind"], "must be a dict"),
    ]
    for answers, msg in cases:
        with pytest.raises(SchemeError, match=msg) as err:
            s.validate(answers)
        assert "scheme 'test-tree' v2" in str(err.value)


def test_rgz_answers():
    s = get_scheme("rgz")
    ok = s.validate({"sources": [{"components": [3, 1], "host": {"x": 1, "y": 2},
                                  "morphology": "FRII"},
                                 {"components": [2], "host": None, "morphology": "compact"}]},
                    n_components=3)
    assert ok["no_contours"] is False and ok["sources"][0]["components"] == [1, 3]
    assert s.validate({"no_contours": True}) == {"no_contours": True, "sources": []}
    src = {"host": None, "morphology": "compact"}
    bad = [
        ({"no_contours": True, "sources": [{"components": [1], **src}]}, "no_contours' is true"),
        ({"sources": []}, "no sources given"),
        ({"sources": [{"components": [1], **src}, {"components": [1, 2], **src}]},
         r"component\(s\) \[1\] belong to two sources"),
        ({"sources": [{"components": [1.5], **src}]}, "is not an integer"),
        ({"sources": [{"components": [4], **src}]}, "component 4 does not exist"),
        ({"sources": [{"components": [1], "host": None}]}, "'morphology' is not answered"),
        ({"sources": [{"components": [1], **src, "size": 3}]}, "unknown answers"),
        ({"no_contours": "yes"}, "must be true or false"),
    ]
    for answers, msg in bad:
        with pytest.raises(SchemeError, match=msg):
            s.validate(answers, n_components=3)


@pytest.mark.parametrize("change, msg", [
    (lambda d: d["questions"][0]["answers"][0].update(next="nowhere"), "unknown question"),
    (lambda d: d["questions"][1].update(next="kind"), "cycle"),
    (lambda d: d["questions"][0]["answers"][1].update(key="1"), "duplicate keyboard keys"),
    (lambda d: d["questions"][3].update(type="slider"), "unknown type 'slider'"),
    (lambda d: d["questions"].append(dict(d["questions"][0])), "appears twice"),
    (lambda d: d.update(version="two"), "version must be an integer"),
])
def test_malformed_schemes_are_refused(change, msg):
    d = json.loads(json.dumps(USER))
    change(d)
    with pytest.raises(SchemeError, match=msg):
        Scheme.from_dict(d)


def test_user_scheme_files(tmp_path):
    p = tmp_path / "mine.json"
    p.write_text(json.dumps({**USER, "name": "mine-json"}))
    s = load_scheme(p)
    assert get_scheme("mine-json") is s and s.version == 2
    assert Scheme.from_dict(s.to_dict()) == s
    import yaml

    y = tmp_path / "mine.yaml"
    y.write_text(yaml.safe_dump({**USER, "name": "mine-yaml"}))
    assert load_scheme(y).classes == ["star", "galaxy", "artefact"]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SchemeError, match="cannot parse") as err:
        load_scheme(bad)
    assert str(bad) in str(err.value)
    changed = {**USER, "name": "mine-json"}
    changed["questions"] = USER["questions"][:1]
    changed["questions"] = [dict(changed["questions"][0], answers=[
        {"value": "star", "label": "Star", "key": "1"}])]
    p.write_text(json.dumps(changed))
    with pytest.raises(SchemeError, match="new version"):
        load_scheme(p)

"""One annotator identity: JupyterHub's user first, then $USER, then the login name; the
Labeler and the label store record the same name."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import pytest

from workbench.core.identity import annotator_name

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "widgets"))  # tiny.py


def test_annotator_name_prefers_jupyterhub_then_user_then_login(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "hub-ada")
    monkeypatch.setenv("USER", "jovyan")
    assert annotator_name() == "hub-ada"
    monkeypatch.setenv("JUPYTERHUB_USER", "")           # set but empty: not a name
    assert annotator_name() == "jovyan"
    monkeypatch.delenv("JUPYTERHUB_USER")
    monkeypatch.delenv("USER")
    monkeypatch.setattr(getpass, "getuser", lambda: "login-bea")
    assert annotator_name() == "login-bea"

    def no_login():
        raise OSError("no login name")

    monkeypatch.setattr(getpass, "getuser", no_login)
    assert annotator_name() == "anonymous"


@pytest.mark.parametrize("env", [{"JUPYTERHUB_USER": "hub-ada", "USER": "jovyan"},
                                 {"USER": "carol"}])
def test_labeler_and_store_record_the_same_annotator(tmp_path, monkeypatch, env):
    import tiny

    from workbench.io.labels import default_annotator, open_store
    from workbench.widgets.labeler import Labeler

    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    want = env.get("JUPYTERHUB_USER", env["USER"])
    monkeypatch.setattr(getpass, "getuser", lambda: "login-name-not-used")
    coll = tiny.transient_collection(tmp_path / "tr", n=3, size=16)
    store = open_store(coll)
    assert default_annotator() == want
    L = Labeler(coll, scheme="transient", store=store)
    assert L.annotator == want
    first = L.item_id
    L.handle_key("2")                                    # "frb": the Labeler's annotation
    store.annotate(coll.ids[2], {"class": "noise"}, scheme="transient")  # the store's default
    ann = store.annotations()
    assert set(ann["annotator"]) == {want}
    assert set(ann["item_id"]) == {first, coll.ids[2]}

"""workbench embed (issue 7): stores the embedding once, then reuses it."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from _embedding_steps import run, tiny_collection, train  # noqa: E402


def test_embed_stores_an_embedding_then_reuses_it(tmp_path, capsys):
    coll = tiny_collection(tmp_path / "c")
    ck = tmp_path / "enc.safetensors"
    train(coll, ck, capsys)
    out = run(["embed", str(coll.path), "--encoder", str(ck)], capsys)
    assert out.out.startswith("stored embedding-")
    name = out.out.split()[1].rstrip(":")  # "stored embedding-<hash>: ..."
    out = run(["embed", str(coll.path), "--encoder", str(ck)], capsys)
    assert out.out.startswith(f"reused {name}")
    info = json.loads(run(["info", str(coll.path), "--json"], capsys).out)
    assert [n for n in info["derived"] if n.startswith("embedding-")] == [name]
    assert info["derived"][name]["made_by"]["params"]["checkpoint"] == str(ck)

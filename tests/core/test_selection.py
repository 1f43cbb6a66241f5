"""The shared Selection: ids in order, each once; observers told of changes only."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.selection import Selection


def test_set_notifies_only_on_change_and_keeps_order():
    sel = Selection(["x"])
    seen, focus = [], []
    stop = sel.observe(seen.append)
    sel.observe(focus.append, "focus")
    assert sel.set(np.array(["c", "a", "c", "b"])) is True
    assert sel.ids == ["c", "a", "b"] and len(sel) == 3 and "a" in sel and "x" not in sel
    assert sel.set(["c", "a", "b"], source="plot") is False
    assert seen == [["c", "a", "b"]]
    sel.set([1, 2], source="gallery")
    assert seen[-1] == ["1", "2"] and sel.source == "gallery"
    seen[-1].append("mutated")  # observers get copies
    assert sel.ids == ["1", "2"]
    stop()
    sel.clear()
    assert len(seen) == 2 and sel.ids == []
    assert sel.set_focus("1") and not sel.set_focus("1") and sel.set_focus(None)
    assert focus == ["1", None] and sel.focus is None


def test_two_followers_do_not_loop():
    a, b = Selection(), Selection()
    calls = []

    def a_to_b(ids):
        calls.append("b")
        b.set(ids)

    def b_to_a(ids):
        calls.append("a")
        a.set(ids)

    a.observe(a_to_b)
    b.observe(b_to_a)
    a.set(["p", "q"])
    assert b.ids == ["p", "q"] and calls == ["b", "a"]


def test_bad_arguments():
    sel = Selection()
    with pytest.raises(TypeError, match="not one string"):
        sel.set("abc")
    with pytest.raises(ValueError, match="not 'colour'"):
        sel.observe(print, "colour")
    with pytest.raises(TypeError, match="callable"):
        sel.observe(3)

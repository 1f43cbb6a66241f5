"""The kernel-side link helpers: deferred re-draws, tap and bounds -> ids."""

from __future__ import annotations

import asyncio

import numpy as np

from workbench.core.selection import Selection
from workbench.plots.link import LinkedPoints, deferred


def test_deferred_runs_at_once_outside_a_loop_and_once_after_the_message_inside():
    calls = []
    run = deferred(lambda: calls.append(1))
    run()
    assert calls == [1]

    async def handler():  # a comm message handled in the kernel's event loop
        run("ids")
        run("focus")
        assert calls == [1]  # not yet: the Gallery goes first
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    asyncio.run(handler())
    assert calls == [1, 1]  # once for both changes


def test_bounds_tap_and_indices_select_ids():
    sel = Selection()
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([10.0, 100.0, 1000.0, 10.0])
    lk = LinkedPoints(["a", "b", "c", "d"], x, y, sel, x_name="t", y_name="dm", logy=True)
    assert lk.from_bounds((1.5, 5.0, 4.5, 500.0)) == ["b", "d"] and sel.ids == ["b", "d"]
    # a tap 3 pixels (of a 100 x 100 plot over 1..4 x 10..1000, log) from c selects c
    assert lk.from_tap(3.0 + 3 * 3 / 100, 1000.0, (1, 4), (10, 1000), width=100,
                       height=100) == ["c"]
    assert sel.focus == "c"
    assert lk.from_tap(2.5, 30.0, (1, 4), (10, 1000), width=100, height=100) == []
    assert lk.from_indices([3, 0, 99]) == ["d", "a"]
    sel.set_focus("b")
    hf = lk.highlight_frame()
    assert list(hf["id"]) == ["d", "a", "b"] and list(hf["role"]) == ["selected"] * 2 + ["focus"]

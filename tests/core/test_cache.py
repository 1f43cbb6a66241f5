"""The one cache class: bounded, least recently used dropped first, clear(), make once."""

from __future__ import annotations

import threading
import time

import pytest

from workbench.core.cache import BoundedCache


def test_bound_drops_the_least_recently_used():
    c = BoundedCache(2, name="t")
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1  # "a" now the most recently used
    c.put("c", 3)
    assert len(c) == 2 and "b" not in c and c.get("a") == 1 and c.get("c") == 3
    assert c.get("b", "gone") == "gone"
    c.put("a", 10)  # replacing does not grow it
    assert len(c) == 2 and c.get("a") == 10
    c.clear()
    assert len(c) == 0 and c.get("a") is None and "2 entries" in repr(c)


def test_get_or_make_makes_once_and_keeps_nothing_on_error():
    c = BoundedCache(3, name="t")
    made = []
    assert c.get_or_make("k", lambda: made.append(1) or "v") == "v"
    assert c.get_or_make("k", lambda: made.append(1) or "w") == "v" and made == [1]

    def bad():
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        c.get_or_make("x", bad)
    assert "x" not in c and len(c) == 1


def test_get_or_make_from_threads_makes_one_value():
    c = BoundedCache(1, name="t")
    made = []

    def make():
        made.append(1)
        time.sleep(0.05)
        return object()

    got = []
    threads = [threading.Thread(target=lambda: got.append(c.get_or_make("k", make)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert made == [1] and len(got) == 4 and all(g is got[0] for g in got)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_the_bound_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="colour maps: max_entries must be an integer >= 1"):
        BoundedCache(bad, name="colour maps")

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
    assert c.get_or_make("x", lambda: "made after all") == "made after all"


def test_a_slow_make_does_not_hold_up_other_keys():
    c = BoundedCache(4, name="t")
    started, release = threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait(5)
        return "slow"

    t = threading.Thread(target=lambda: c.get_or_make("a", slow))
    t.start()
    assert started.wait(5)
    t0 = time.perf_counter()
    assert c.get_or_make("b", lambda: "quick") == "quick"
    assert time.perf_counter() - t0 < 1
    assert "a" in c and c.get("a") is None and len(c) == 1  # being made: not kept yet
    release.set()
    t.join(5)
    assert c.get("a") == "slow"


def test_get_or_make_from_threads_makes_one_value_or_shares_its_error():
    c = BoundedCache(1, name="t")
    made, gate = [], threading.Event()

    def make():
        made.append(1)
        gate.wait(5)
        return object()

    got = []
    threads = [threading.Thread(target=lambda: got.append(c.get_or_make("k", make)))
               for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)  # all four asking before the value is made
    gate.set()
    for t in threads:
        t.join(5)
    assert made == [1] and len(got) == 4 and all(g is got[0] for g in got)

    gate.clear()

    def fail():
        made.append(2)
        gate.wait(5)
        raise OSError("gone")

    errors = []

    def ask():
        try:
            c.get_or_make("e", fail)
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    gate.set()
    for t in threads:
        t.join(5)
    assert made.count(2) == 1 and len(errors) == 3 and "e" not in c


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_the_bound_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="colour maps: max_entries must be an integer >= 1"):
        BoundedCache(bad, name="colour maps")

"""The drawing workers' cache of opened Collections: bounded, cleared on demand, and a
Collection changed on disk (a commit) is opened afresh rather than served stale."""

from __future__ import annotations

from _survey import make_collection

from workbench.server.render_pool import WORKER_COLLECTIONS, worker_collection


def test_worker_collections_are_reopened_after_a_commit_and_bounded(tmp_path):
    WORKER_COLLECTIONS.clear()
    try:
        coll = make_collection(tmp_path / "c0", n=3)
        c1, maps1 = worker_collection(str(coll.path))
        assert worker_collection(str(coll.path))[0] is c1 and len(WORKER_COLLECTIONS) == 1
        assert "score" not in c1.catalog.columns
        coll.add_columns("scores", {"score": [0.1, 0.2, 0.3]})
        c2, maps2 = worker_collection(str(coll.path))
        assert c2 is not c1 and maps2 is not maps1
        assert list(c2.catalog["score"]) == [0.1, 0.2, 0.3]
        others = [make_collection(tmp_path / f"c{i}", n=1) for i in range(1, 5)]
        for o in others:
            worker_collection(str(o.path))
        assert len(WORKER_COLLECTIONS) == WORKER_COLLECTIONS.max_entries == 4
        # the least recently used (the first Collection) was dropped: opened again
        assert worker_collection(str(coll.path))[0] is not c2
        WORKER_COLLECTIONS.clear()
        assert len(WORKER_COLLECTIONS) == 0
    finally:
        WORKER_COLLECTIONS.clear()

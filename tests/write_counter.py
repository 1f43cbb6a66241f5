"""Count a label store's write transactions from the outside, with SQLAlchemy's public
engine events (no private method of the store is replaced).

>>> with count_write_transactions(store.engine) as writes:   # doctest: +SKIP
...     camp.annotate_and_claim(item, answers, annotator="ada")
>>> len(writes)                                                 # doctest: +SKIP
1

A write transaction is a COMMIT after at least one INSERT, UPDATE or DELETE on the same
connection; reads, rolled-back work and empty commits do not count. (The tests import
this module by name: pytest puts tests/ on ``sys.path`` for the root conftest.)
"""

from __future__ import annotations

import contextlib

from sqlalchemy import event

__all__ = ["count_write_transactions"]

_WRITES = ("INSERT", "UPDATE", "DELETE")


@contextlib.contextmanager
def count_write_transactions(engine):
    """Yield a list that gets one entry per write transaction committed on ``engine``."""
    commits: list[int] = []
    dirty: set[int] = set()

    def on_execute(conn, _cursor, statement, *_args):
        if statement.lstrip()[:6].upper() in _WRITES:
            dirty.add(id(conn))

    def on_commit(conn):
        if id(conn) in dirty:
            dirty.discard(id(conn))
            commits.append(1)

    def on_rollback(conn):
        dirty.discard(id(conn))

    hooks = [("before_cursor_execute", on_execute), ("commit", on_commit),
             ("rollback", on_rollback)]
    for name, fn in hooks:
        event.listen(engine, name, fn)
    try:
        yield commits
    finally:
        for name, fn in hooks:
            event.remove(engine, name, fn)

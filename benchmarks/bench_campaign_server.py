"""Campaign server under load: simulated annotators labelling over HTTP on loopback.

    python benchmarks/bench_campaign_server.py --annotators 50 --seconds 60
    python benchmarks/bench_campaign_server.py --annotators 50 --seconds 60 --store postgresql

Simulates a radio survey (``workbench simulate radio``, 128x128 cutouts with infrared),
makes a fr-morphology campaign, invites N annotators and starts ``workbench campaign serve``
(a subprocess, on a free loopback port; SQLite beside the Collection by default, or a
throwaway PostgreSQL server with ``--store postgresql``). Each annotator is a thread with
its own keep-alive connection that does what the labeling page does: ``GET next`` (the
item with its images) then ``POST annotations`` with its answers, until the time is up or
nothing is left for it. By default it answers at once (the server's capacity); ``--think S``
makes it look at each item for a random time of mean S seconds first, as people do.

Prints annotations per second, the median and 95th percentile latency of ``next`` (each
annotator's first ``next``, which builds their session on the server, apart) and of
``POST annotations``, and checks the invariants:

* every 201 has its row in the store (same id, item and annotator), and the store holds
  no other annotation of the campaign;
* no annotator is given an item twice;
* no item gets more live annotations than its retirement count plus the number of
  annotators labelling at the same time (the overshoot; the store's claims should make it 0).

The load generator runs in this process and the server in another, on the same machine:
both compete for its cores, as they would on a small lab server.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "server"))

CHOICES = [{"morphology": m, "confidence": c} for m in ("FRI", "FRII", "hybrid")
           for c in ("confident", "uncertain")]


class Annotator(threading.Thread):
    """One simulated annotator: next, answer, next, ... over one keep-alive connection."""

    def __init__(self, name, token, port, until, start_gate, seed, think: float = 0.0):
        super().__init__(daemon=True)
        self.think = float(think)
        self.name_, self.token, self.port, self.until = name, token, port, until
        self.gate = start_gate
        self.rng = np.random.default_rng(seed)
        self.next_ms, self.post_ms, self.first_ms = [], [], None
        self.items, self.written, self.errors = [], [], []
        self.finished = False  # got 204: nothing left for this annotator

    def _call(self, conn, method, path, body=None):
        headers = {"Authorization": f"token {self.token}"}
        if body is not None:
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        api = "/workbench/api/campaigns/bench"
        self.gate.wait()
        try:
            while time.monotonic() < self.until:
                t0 = time.perf_counter()
                st, body = self._call(conn, "GET", f"{api}/next")
                ms = (time.perf_counter() - t0) * 1e3
                if self.first_ms is None:
                    self.first_ms = ms  # the server builds this annotator's session
                else:
                    self.next_ms.append(ms)
                if st == 204:
                    self.finished = True
                    return
                if st != 200:
                    self.errors.append(("next", st, body[:200]))
                    return
                item = json.loads(body)
                if "images" not in item or not item["images"]["panels"]:
                    self.errors.append(("next", "no images", item["item_id"]))
                self.items.append(item["item_id"])
                answers = CHOICES[int(self.rng.integers(len(CHOICES)))]
                if self.think > 0:  # a person looking at the item
                    time.sleep(min(self.rng.exponential(self.think), 10 * self.think))
                t0 = time.perf_counter()
                st, body = self._call(conn, "POST", f"{api}/annotations",
                                      {"item_id": item["item_id"], "answers": answers})
                self.post_ms.append((time.perf_counter() - t0) * 1e3)
                if st != 201:
                    self.errors.append(("annotations", st, body[:200]))
                    return
                self.written.append((int(json.loads(body)["id"]), item["item_id"]))
        except Exception as exc:  # noqa: BLE001 - reported, and the run goes on
            self.errors.append(("exception", type(exc).__name__, str(exc)[:200]))
        finally:
            conn.close()


def make_survey(folder: Path, n_items: int, retire: int, n_annotators: int, store_url):
    from workbench.io.labels import open_store
    from workbench.sims.radio import simulate_radio

    coll = simulate_radio(folder / "survey", n=n_items, seed=0)
    store = open_store(coll, url=store_url)
    store.create_campaign("bench", "fr-morphology", coll.ids, retire=retire,
                          show_columns=["snr"])
    tokens = {f"a{k:02d}": store.invite("bench", f"a{k:02d}") for k in range(n_annotators)}
    store.close()
    return coll, tokens


def check(coll, store_url, annotators, retire: int):
    """The invariants (see the module docstring); returns a dict of findings."""
    from workbench.io.labels import open_store

    store = open_store(coll, url=store_url)
    rows = store.annotations(campaign="bench")
    store.close()
    by_id = {int(i): (a, it) for i, a, it in zip(rows["id"], rows["annotator"], rows["item_id"])}
    sent = {i: (a.name_, it) for a in annotators for i, it in a.written}
    missing = [i for i, v in sent.items() if by_id.get(i) != v]
    extra = sorted(set(by_id) - set(sent))
    twice = {a.name_: len(a.items) - len(set(a.items)) for a in annotators
             if len(a.items) != len(set(a.items))}
    per_item = rows.groupby("item_id").size()
    overshoot = int(max(0, (per_item - retire).max())) if len(per_item) else 0
    return {"rows": len(rows), "missing": missing, "extra": extra, "twice": twice,
            "overshoot": overshoot, "items_done": int((per_item >= retire).sum())}


def run(args, store_url, label: str, folder: Path) -> bool:
    from _server import campaign_server

    t0 = time.perf_counter()
    coll, tokens = make_survey(folder, args.items, args.retire, args.annotators, store_url)
    print(f"[{label}] {args.items} simulated items ready in {time.perf_counter() - t0:.0f} s; "
          f"campaign retire {args.retire}, {args.annotators} annotators, think time "
          f"{args.think:g} s")
    with campaign_server(coll.path, "bench", store=store_url, log_dir=folder) as base:
        port = int(base.rsplit(":", 1)[1])
        gate = threading.Barrier(args.annotators + 1)
        until = time.monotonic() + 1e9  # set when everybody is ready
        annotators = [Annotator(n, t, port, until, gate, k, args.think)
                      for k, (n, t) in enumerate(sorted(tokens.items()))]
        for a in annotators:
            a.start()
        start = time.monotonic()
        for a in annotators:
            a.until = start + args.seconds
        gate.wait()
        for a in annotators:
            a.join(args.seconds + 300)
        wall = time.monotonic() - start
    n_ann = sum(len(a.written) for a in annotators)
    nxt = np.concatenate([a.next_ms for a in annotators] + [[np.nan]])
    nxt = nxt[np.isfinite(nxt)] if np.isfinite(nxt).any() else np.zeros(1)
    first = np.array([a.first_ms for a in annotators if a.first_ms is not None] or [0.0])
    post = np.concatenate([a.post_ms for a in annotators]) if n_ann else np.zeros(1)
    errors = [e for a in annotators for e in a.errors]
    done = sum(a.finished for a in annotators)
    inv = check(coll, store_url, annotators, args.retire)
    print(f"[{label}] {n_ann} annotations in {wall:.1f} s: {n_ann / wall:.1f} annotations/s "
          f"({done} annotator(s) ran out of items)")
    print(f"[{label}] GET next:         p50 {np.percentile(nxt, 50):6.1f} ms   "
          f"p95 {np.percentile(nxt, 95):6.1f} ms   ({len(nxt)} requests; an annotator's "
          f"first, which starts their session: p50 {np.percentile(first, 50):.0f} ms, "
          f"max {first.max():.0f} ms)")
    print(f"[{label}] POST annotations: p50 {np.percentile(post, 50):6.1f} ms   "
          f"p95 {np.percentile(post, 95):6.1f} ms   ({len(post)} requests)")
    ok = not (errors or inv["missing"] or inv["extra"] or inv["twice"]
              or inv["overshoot"] > args.annotators)
    print(f"[{label}] invariants: every 201 has its row: {not inv['missing']} "
          f"({len(inv['missing'])} missing); rows without a 201: {len(inv['extra'])}; "
          f"no item twice to an annotator: {not inv['twice']}; retirement overshoot "
          f"{inv['overshoot']} (limit {args.annotators}); {inv['items_done']} items retired; "
          f"errors {len(errors)} {errors[:3]}")
    print(f"[{label}] {'OK' if ok else 'FAILED'}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--annotators", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite",
                    help="SQLite beside the Collection (default) or a throwaway PostgreSQL")
    ap.add_argument("--items", type=int, default=1000, help="items in the campaign")
    ap.add_argument("--retire", type=int, default=10, help="annotations per item")
    ap.add_argument("--think", type=float, default=0.0, metavar="S",
                    help="mean seconds an annotator looks at an item before answering "
                         "(exponential; default 0: answer at once, the server's capacity)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="wb-bench-serve-"))
    if args.store == "postgresql":
        from workbench.io.labels.pgtemp import TempPostgres, find_pg_bin

        if find_pg_bin() is None:
            sys.exit("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        with TempPostgres(fsync=True) as pg:
            ok = run(args, pg.create_database(), "postgresql", folder)
    else:
        ok = run(args, None, "sqlite", folder)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

"""Consensus labels from many annotators (beside the labeling logic; the label store in
:mod:`workbench.io.labels` only keeps the annotations).

Three methods, each a pure function of an annotations DataFrame (as returned by
:meth:`LabelStore.annotations`, retracted rows already left out) and the scheme, and
:func:`campaign_consensus`, which runs one of them on a campaign's live annotations:

:func:`majority`
    Per item and per item-level question: the most frequent answer, its agreement
    fraction (its votes / the votes on that question) and whether it was a tie. Ties go to
    the answer listed first in the scheme (for choice questions; answers outside the
    scheme, and other question types, to the answer voted first) and are flagged. This is
    THE majority rule of the workbench: Gallery badges and Explorer colours
    (:func:`majority_labels`), plot colours, campaign reports and ``workbench labels export``
    all come from it.
:func:`dawid_skene`
    Annotator-skill weighting (Dawid & Skene 1979, Applied Statistics 28, 20): EM over
    per-annotator confusion matrices and class priors. Items of known class (``gold``) are
    clamped to their class, which measures each annotator's skill against the truth, and
    every annotator who answered gold items starts from their confusion on those alone.
    With ``model="one-coin"`` an annotator with enough gold answers keeps the accuracy
    measured on them for the whole fit, so annotators who agree with one another but not
    with the truth (colluding or copied spammers, whom agreement alone takes for experts)
    are weighted by what they got right on gold: the model to use with gold items.
:func:`rgz_consensus`
    Radio Galaxy Zoo source identification (Banfield et al. 2015, MNRAS 453, 2326): the
    winning component combination (how the annotator grouped components into sources, or
    "no contours"), with consensus level = its votes / all votes; per source, the host is the
    highest peak of a Gaussian kernel density estimate over the host clicks of those who
    chose the winning combination (``None`` when most of them said "no host"); the
    morphology is the majority of their per-source answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from workbench.core.errors import SchemeError, StoreError

__all__ = ["majority", "majority_labels", "campaign_consensus", "dawid_skene",
           "DawidSkene", "rgz_consensus", "kde_peak",
           "RGZ_COLUMNS"]


def _key(v):
    """Hashable form of an answer value (lists -> tuples, dicts -> sorted tuples)."""
    if isinstance(v, list):
        return tuple(_key(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _key(x)) for k, x in v.items()))
    return v


def _unkey(v):
    return list(v) if isinstance(v, tuple) else v


def _vote(values: list, order: list | None = None):
    """(winner, n_winner, n_total, tie) of a list of answers; ties to the scheme order,
    else to the answer voted first."""
    keys = [_key(v) for v in values]
    counts = Counter(keys)
    top = max(counts.values())
    tied = [k for k in counts if counts[k] == top]
    if order is not None:
        rank = {_key(v): i for i, v in enumerate(order)}
        tied.sort(key=lambda k: (rank.get(k, len(rank)), keys.index(k)))
    else:
        tied.sort(key=keys.index)
    return _unkey(tied[0]), top, len(keys), len(tied) > 1


def _items(annotations: pd.DataFrame, item_ids):
    groups = {k: g for k, g in annotations.groupby("item_id", sort=False)} if len(annotations) \
        else {}
    order = list(groups) if item_ids is None else [str(i) for i in item_ids]
    return [(i, groups[i]) for i in order if i in groups]


def _vote_questions(scheme, questions):
    qs = [q for q in scheme.item_questions if q.type in ("choice", "multi", "text")]
    if questions is not None:
        want = list(questions)
        qs = [scheme.question(q) for q in want]
    return qs


def _vote_column(items, vals, q) -> pd.DataFrame:
    """Per item: answer, agreement, votes, tie for one question (vectorised for choices)."""
    cols = ["answer", "agreement", "votes", "tie"]
    keep = [k for k, v in enumerate(vals) if v is not None]
    if not keep:
        return pd.DataFrame(columns=cols)
    if q.type != "choice":
        groups: dict = {}
        for k in keep:
            groups.setdefault(items[k], []).append(vals[k])
        rows = {}
        for it, vs in groups.items():
            win, n, tot, tie = _vote(vs)
            rows[it] = (win, n / tot, tot, tie)
        return pd.DataFrame.from_dict(rows, orient="index", columns=cols)
    rank = {v: i for i, v in enumerate(q.values)}
    d = pd.DataFrame({"item": items[keep], "val": [vals[k] for k in keep]})
    c = d.groupby(["item", "val"], sort=False).size().rename("n").reset_index()
    c["rank"] = c["val"].map(rank).fillna(len(rank))
    c = c.sort_values(["item", "n", "rank"], ascending=[True, False, True], kind="stable")
    g = c.groupby("item", sort=False)["n"]
    c["tot"] = g.transform("sum")
    c["is_max"] = c["n"] == g.transform("max")
    n_max = c.groupby("item", sort=False)["is_max"].sum()
    first = c.drop_duplicates("item").set_index("item")
    return pd.DataFrame({"answer": first["val"], "agreement": first["n"] / first["tot"],
                         "votes": first["tot"], "tie": n_max.reindex(first.index) > 1})


def majority(annotations: pd.DataFrame, scheme, *, item_ids: Iterable | None = None,
             questions: Iterable[str] | None = None) -> pd.DataFrame:
    """Majority answer per item and question, with agreement fractions.

    Parameters
    ----------
    annotations : DataFrame
        Rows with ``item_id`` and ``answers`` (dicts).
    scheme : Scheme
    item_ids : iterable of str, optional
        Order of the output rows (items without annotations are left out).
    questions : iterable of str, optional
        Which questions (default: every item-level choice, multi and text question).

    Returns
    -------
    DataFrame
        One row per annotated item: ``item_id``, ``n_annotations``, then per question ``q``:
        ``q`` (answer, or None when nobody answered it), ``q_agreement`` (0..1), ``q_votes``
        (annotations that answered ``q``) and ``q_tie``; and ``label``/``agreement``
        repeating the scheme's class question.
    """
    from workbench.core.schemes import get_scheme

    scheme = get_scheme(scheme)
    qs = _vote_questions(scheme, questions)
    if len(annotations):
        items = annotations["item_id"].astype(str).to_numpy()
        n_ann = pd.Series(items).value_counts(sort=False)
        order = list(dict.fromkeys(items)) if item_ids is None else \
            [str(i) for i in item_ids if str(i) in n_ann.index]
    else:
        items, n_ann, order = np.array([], dtype=object), pd.Series(dtype="int64"), []
    df = pd.DataFrame({"item_id": order})
    df["n_annotations"] = n_ann.reindex(order).to_numpy(dtype=np.int64) if order else \
        np.zeros(0, np.int64)
    answers = list(annotations["answers"]) if len(annotations) else []
    for q in qs:
        vals = [a.get(q.id) if isinstance(a, Mapping) else None for a in answers]
        res = _vote_column(items, vals, q).reindex(order)
        df[q.id] = res["answer"].to_numpy(dtype=object) if order else []
        df[f"{q.id}_agreement"] = res["agreement"].to_numpy(dtype=np.float64)
        df[f"{q.id}_votes"] = res["votes"].fillna(0).to_numpy(dtype=np.int64)
        df[f"{q.id}_tie"] = res["tie"].fillna(False).to_numpy(dtype=bool)
    types = {"item_id": "string", "n_annotations": "int64"}
    for q in qs:
        types.update({q.id: "object" if q.type == "multi" else "string",
                      f"{q.id}_agreement": "float64", f"{q.id}_votes": "int64",
                      f"{q.id}_tie": "bool"})
    df = df.astype(types)
    cq = scheme.class_question
    if cq is not None and cq in df.columns:
        df["label"] = df[cq]
        df["agreement"] = df[f"{cq}_agreement"]
    return df


# ---------------------------------------------------------------------- Dawid-Skene
class DawidSkene:
    """Dawid-Skene EM for one categorical question.

    Parameters
    ----------
    classes : list
        The class values (e.g. ``scheme.classes``).
    max_iter : int
    tol : float
        Stop when no item posterior changes by more than this.
    smoothing : float
        Pseudo-count added to every confusion-matrix cell (keeps rarely seen
        annotator/class pairs from collapsing to 0 or 1).
    model : {"full", "one-coin"}
        ``full``: a complete confusion matrix per annotator (Dawid & Skene); ``one-coin``:
        one accuracy per annotator, errors spread evenly over the other classes (far fewer
        parameters: better with few annotations per annotator).
    gold_min : int or None
        ``one-coin`` only: annotators with at least this many answers on gold items keep
        the accuracy measured on those answers alone (``(right + 1/2) / (n + 1)``) for the
        whole fit: what they got right on known items, not how often they agree with the
        others, decides their weight. ``None`` or 0 (and the ``full`` model, whose many
        cells a few gold answers cannot pin down): gold answers only start the fit.

    Attributes (after :meth:`fit`)
    -------------------------------
    items_ : list of str
    annotators_ : list of str
    posteriors_ : ndarray (n_items, n_classes)
        P(true class | answers).
    labels_ : list
        The most probable class per item.
    priors_ : ndarray (n_classes,)
    confusion_ : ndarray (n_annotators, n_classes, n_classes)
        ``confusion_[j, k, l]`` = P(annotator j answers l | true class k).
    skill_ : dict of annotator -> float
        Expected accuracy, ``sum_k prior_k * confusion_[j, k, k]``.
    gold_accuracy_ : dict of annotator -> float
        Fraction right on the gold items they answered (NaN if none).
    clamped_ : list of str
        Annotators whose confusion came from their gold answers (see ``gold_min``).
    n_iter_ : int
    """

    def __init__(self, classes, *, max_iter: int = 100, tol: float = 1e-6,
                 smoothing: float = 0.01, model: str = "full", gold_min: int | None = 5):
        if model not in ("full", "one-coin"):
            raise ValueError(f"model must be 'full' or 'one-coin', not {model!r}")
        self.model = model
        self.gold_min = int(gold_min or 0)
        self.classes = list(classes)
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.smoothing = float(smoothing)

    def fit(self, item_ids, annotators, answers, *, gold: Mapping | None = None) -> DawidSkene:
        """Fit from parallel sequences: the item, annotator and answer of each annotation."""
        cls_index = {c: k for k, c in enumerate(self.classes)}
        bad = sorted({repr(a) for a in answers if a not in cls_index})
        if bad:
            raise SchemeError(f"answers {bad[:5]} are not among the classes {self.classes}")
        items = pd.Index(pd.unique(pd.Series(list(item_ids), dtype=object)))
        people = pd.Index(pd.unique(pd.Series(list(annotators), dtype=object)))
        ii = items.get_indexer(list(item_ids))
        jj = people.get_indexer(list(annotators))
        ll = np.array([cls_index[a] for a in answers], dtype=np.int64)
        n_i, n_j, n_k = len(items), len(people), len(self.classes)
        gold = {str(k): v for k, v in (gold or {}).items()}
        gmask = np.zeros(n_i, bool)
        gT = np.zeros((n_i, n_k))
        for it, v in gold.items():
            pos = items.get_indexer([it])[0]
            if pos >= 0:
                if v not in cls_index:
                    raise SchemeError(f"gold class {v!r} of item {it!r} is not among "
                                      f"{self.classes}")
                gmask[pos] = True
                gT[pos, cls_index[v]] = 1.0
        # start from vote fractions
        T = np.zeros((n_i, n_k))
        np.add.at(T, (ii, ll), 1.0)
        T /= np.maximum(T.sum(1, keepdims=True), 1e-300)
        T[gmask] = gT[gmask]
        on_gold = gmask[ii] if n_i else np.zeros(0, bool)
        clamp, conf_gold = np.zeros(n_j, bool), None
        self.n_iter_ = 0
        if on_gold.any():
            # Annotators who answered gold items start from their confusion on the gold
            # items alone (others from the vote fractions), and one E-step turns that into
            # item posteriors: a colluding majority cannot pull the start its way.
            prior, conf = self._m_step(T, ii, jj, ll, n_i, n_j, n_k)
            _, conf_gold = self._m_step(gT, ii[on_gold], jj[on_gold], ll[on_gold], n_i, n_j,
                                        n_k, smoothing=0.5)
            n_gold = np.bincount(jj[on_gold], minlength=n_j)
            conf[n_gold > 0] = conf_gold[n_gold > 0]
            T = self._e_step(prior, conf, ii, jj, ll, n_i, gmask, gT)
            if self.gold_min > 0 and self.model == "one-coin":
                clamp = n_gold >= self.gold_min
        for it in range(1, self.max_iter + 1):
            self.n_iter_ = it
            prior, conf = self._m_step(T, ii, jj, ll, n_i, n_j, n_k)
            if clamp.any():
                conf[clamp] = conf_gold[clamp]
            newT = self._e_step(prior, conf, ii, jj, ll, n_i, gmask, gT)
            delta = np.abs(newT - T).max() if n_i else 0.0
            T = newT
            if delta < self.tol:
                break
        if self.n_iter_ == 0:
            prior, conf = self._m_step(T, ii, jj, ll, n_i, n_j, n_k)
            if clamp.any():
                conf[clamp] = conf_gold[clamp]
        self.items_ = [str(x) for x in items]
        self.annotators_ = [str(x) for x in people]
        self.posteriors_ = T
        self.labels_ = [self.classes[k] for k in T.argmax(1)] if n_i else []
        self.priors_ = prior if n_i else np.full(n_k, 1.0 / n_k)
        self.confusion_ = conf if n_i else np.zeros((0, n_k, n_k))
        self.skill_ = {p: float(np.sum(self.priors_ * np.diag(self.confusion_[j])))
                       for j, p in enumerate(self.annotators_)}
        gacc = {}
        for j, p in enumerate(self.annotators_):
            sel = (jj == j) & gmask[ii]
            gacc[p] = float(np.mean(gT[ii[sel], ll[sel]] == 1.0)) if sel.any() else float("nan")
        self.gold_accuracy_ = gacc
        self.clamped_ = [p for j, p in enumerate(self.annotators_) if clamp[j]]
        return self


    def _m_step(self, T, ii, jj, ll, n_i, n_j, n_k, *, smoothing: float | None = None):
        """Class priors and confusion matrices from item posteriors ``T``."""
        a = self.smoothing if smoothing is None else float(smoothing)
        prior = (T.sum(0) + a) / (n_i + n_k * a)
        conf = np.full((n_j, n_k, n_k), a)
        for k in range(n_k):
            np.add.at(conf[:, k, :], (jj, ll), T[ii, k])
        if self.model == "one-coin" and n_k > 1:
            right = np.einsum("jkk->j", conf - a) + a
            total = conf.sum((1, 2)) - n_k * n_k * a + 2 * a
            acc = right / total
            conf = np.broadcast_to(((1 - acc) / (n_k - 1))[:, None, None],
                                   (n_j, n_k, n_k)).copy()
            conf[:, np.arange(n_k), np.arange(n_k)] = acc[:, None]
        conf /= conf.sum(2, keepdims=True)
        return prior, conf

    @staticmethod
    def _e_step(prior, conf, ii, jj, ll, n_i, gmask, gT):
        """Item posteriors from priors and confusion matrices; gold items stay clamped."""
        logc = np.log(conf)
        logT = np.tile(np.log(prior), (n_i, 1))
        np.add.at(logT, ii, logc[jj, :, ll])
        logT -= logT.max(1, keepdims=True) if n_i else 0.0
        newT = np.exp(logT)
        newT /= newT.sum(1, keepdims=True)
        newT[gmask] = gT[gmask]
        return newT


def dawid_skene(annotations: pd.DataFrame, scheme, *, question: str | None = None,
                item_ids: Iterable | None = None, gold: Mapping | None = None,
                max_iter: int = 100, tol: float = 1e-6, smoothing: float = 0.01,
                model: str = "full", gold_min: int | None = 5) -> pd.DataFrame:
    """Skill-weighted consensus of one choice question (default: the class question).

    ``gold`` maps item_id -> true class for items of known class; ``model`` is ``"full"``
    (confusion matrices) or ``"one-coin"`` (one accuracy per annotator); annotators with at
    least ``gold_min`` gold answers are weighted by those (see :class:`DawidSkene`).

    Returns
    -------
    DataFrame
        Per annotated item: ``item_id``, ``n_annotations``, ``label`` (most probable class),
        ``probability`` (its posterior), ``gold`` (whether the item was clamped), and one
        column ``p_<class>`` per class. ``df.attrs`` holds ``skill`` and ``gold_accuracy``
        (annotator -> float), ``confusion`` (annotator -> nested list [true][answered]),
        ``classes``, ``priors``, ``n_iter`` and ``clamped`` (annotators weighted by their
        gold answers).
    """
    from workbench.core.schemes import get_scheme

    scheme = get_scheme(scheme)
    qid = question or scheme.class_question
    if qid is None:
        raise SchemeError(f"scheme {scheme.name!r} has no class question; pass question=")
    q = scheme.question(qid)
    if q.type != "choice" or q.scope != "item":
        raise SchemeError(f"Dawid-Skene needs an item-level choice question; {qid!r} is a "
                          f"{q.scope}-level {q.type} question of scheme {scheme.name!r}")
    classes = q.values
    rows = [(str(r.item_id), str(r.annotator), r.answers[qid])
            for r in annotations.itertuples() if isinstance(r.answers, Mapping)
            and qid in r.answers]
    model = DawidSkene(classes, max_iter=max_iter, tol=tol, smoothing=smoothing, model=model,
                       gold_min=gold_min)
    model.fit([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], gold=gold)
    counts = Counter(r[0] for r in rows)
    order = model.items_ if item_ids is None else [str(i) for i in item_ids if str(i) in counts]
    pos = {it: k for k, it in enumerate(model.items_)}
    P = model.posteriors_[[pos[i] for i in order]] if order else np.zeros((0, len(classes)))
    gold_set = {str(k) for k in (gold or {})}
    df = pd.DataFrame({
        "item_id": pd.Series(order, dtype="string"),
        "n_annotations": pd.Series([counts[i] for i in order], dtype="int64"),
        "label": pd.Series([classes[k] for k in P.argmax(1)] if len(order) else [],
                           dtype="string"),
        "probability": pd.Series(P.max(1) if len(order) else [], dtype="float64"),
        "gold": pd.Series([i in gold_set for i in order], dtype="bool"),
    })
    for k, c in enumerate(classes):
        df[f"p_{c}"] = P[:, k].astype(np.float64)
    df.attrs.update(
        skill=model.skill_, gold_accuracy=model.gold_accuracy_, classes=classes,
        confusion={p: model.confusion_[j].tolist() for j, p in enumerate(model.annotators_)},
        priors=np.asarray(model.priors_).tolist(), n_iter=model.n_iter_, question=qid,
        clamped=model.clamped_,
        model=model.model)
    return df


# ---------------------------------------------------------------------- RGZ
RGZ_COLUMNS = {
    "item_id": "string", "n_votes": "int64", "n_winning": "int64", "consensus_level": "float64",
    "tie": "bool", "no_contours": "bool", "source": "Int64", "components": "string",
    "host_x": "float64", "host_y": "float64", "n_host_clicks": "int64",
    "host_level": "float64", "no_host_fraction": "float64", "morphology": "string",
    "morphology_agreement": "float64",
}


def kde_peak(points, *, bandwidth: float = 3.0, max_iter: int = 100) -> tuple[float, float]:
    """Highest peak of a Gaussian KDE over 2-D points (pixels).

    The density is evaluated at every point; the densest point seeds a mean-shift climb to
    the nearest mode (Gaussian kernel of ``bandwidth`` pixels). Deterministic.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        raise ValueError("kde_peak needs at least one point")
    d2 = ((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)
    dens = np.exp(-0.5 * d2 / bandwidth ** 2).sum(1)
    x = pts[int(np.argmax(dens))].copy()
    for _ in range(max_iter):
        w = np.exp(-0.5 * ((pts - x) ** 2).sum(1) / bandwidth ** 2)
        new = (w[:, None] * pts).sum(0) / w.sum()
        if np.abs(new - x).max() < 1e-6:
            x = new
            break
        x = new
    return float(x[0]), float(x[1])


def _combo(ans: Mapping, qid: str, flag: str | None):
    if flag and ans.get(flag):
        return "no_contours"
    return frozenset(tuple(s["components"]) for s in ans.get(qid, []))


def rgz_consensus(annotations: pd.DataFrame, scheme="rgz", *, item_ids: Iterable | None = None,
                  bandwidth: float = 3.0) -> pd.DataFrame:
    """RGZ consensus: one row per source of the winning combination (see module docstring).

    Parameters
    ----------
    annotations : DataFrame
        Annotations of a scheme with a ``components`` question (``rgz``).
    bandwidth : float
        KDE kernel width for host clicks, in pixels.

    Returns
    -------
    DataFrame (columns :data:`RGZ_COLUMNS`)
        ``n_votes`` (annotations of the item), ``n_winning`` (those that chose the winning
        combination), ``consensus_level`` = n_winning / n_votes, ``tie`` (another combination
        had as many votes; the one voted first wins), ``no_contours`` (the winner is "no
        contours": one row with ``source`` NA), ``source`` (0, 1, ... ordered by lowest
        component id), ``components`` ("1,3"), ``host_x``/``host_y`` (pixels; NaN when no
        host), ``n_host_clicks``, ``host_level`` (clicks within 2 bandwidths of the host /
        winning votes), ``no_host_fraction``, ``morphology`` and its agreement.
    """
    from workbench.core.schemes import get_scheme

    scheme = get_scheme(scheme)
    comp_q = next((q for q in scheme.item_questions if q.type == "components"), None)
    if comp_q is None:
        raise SchemeError(f"scheme {scheme.name!r} has no components question; RGZ consensus "
                          f"needs one (use majority or dawid-skene)")
    host_q = next((scheme.question(i) for i in comp_q.per_source
                   if scheme.question(i).type == "position"), None)
    morph_q = next((scheme.question(i) for i in comp_q.per_source
                    if scheme.question(i).type == "choice"), None)
    rows = []
    for item, g in _items(annotations.sort_values("id") if len(annotations) else annotations,
                          item_ids):
        answers = [a for a in g["answers"] if isinstance(a, Mapping)]
        combos = [_combo(a, comp_q.id, comp_q.none_flag) for a in answers]
        counts = Counter(combos)
        top = max(counts.values())
        tied = [c for c in combos if counts[c] == top]  # in vote order
        win = tied[0]
        tie = len(set(tied)) > 1
        base = {"item_id": item, "n_votes": len(combos), "n_winning": top,
                "consensus_level": top / len(combos), "tie": tie}
        if win == "no_contours":
            rows.append({**base, "no_contours": True, "source": pd.NA, "components": "",
                         "host_x": np.nan, "host_y": np.nan, "n_host_clicks": 0,
                         "host_level": np.nan, "no_host_fraction": np.nan, "morphology": None,
                         "morphology_agreement": np.nan})
            continue
        winners = [a for a, c in zip(answers, combos) if c == win]
        for k, comps in enumerate(sorted(win, key=lambda t: (min(t), t))):
            per = [next(s for s in a[comp_q.id] if tuple(s["components"]) == comps)
                   for a in winners]
            row = {**base, "no_contours": False, "source": k,
                   "components": ",".join(str(c) for c in comps)}
            hx = hy = np.nan
            n_clicks, level, nohost = 0, np.nan, np.nan
            if host_q is not None:
                clicks = [s.get(host_q.id) for s in per]
                pts = [(c["x"], c["y"]) for c in clicks if c is not None]
                n_clicks = len(pts)
                nohost = 1.0 - n_clicks / len(clicks)
                if pts and nohost <= 0.5:
                    hx, hy = kde_peak(pts, bandwidth=bandwidth)
                    d = np.hypot(*(np.asarray(pts) - (hx, hy)).T)
                    level = float((d <= 2 * bandwidth).sum()) / len(clicks)
            row.update(host_x=hx, host_y=hy, n_host_clicks=n_clicks, host_level=level,
                       no_host_fraction=nohost)
            if morph_q is not None:
                vals = [s[morph_q.id] for s in per if morph_q.id in s]
                if vals:
                    m, n, tot, _ = _vote(vals, morph_q.values)
                    row.update(morphology=m, morphology_agreement=n / tot)
                else:
                    row.update(morphology=None, morphology_agreement=np.nan)
            rows.append(row)
    df = pd.DataFrame(rows, columns=list(RGZ_COLUMNS))
    return df.astype(RGZ_COLUMNS)


# ---------------------------------------------------------------------- item labels
def majority_labels(store, ids) -> dict:
    """Per item of ``ids`` with live annotations in ``store``: ``(label, n_annotations)``.

    The label is the :func:`majority` answer to the scheme's class question, as text (so
    ties go to the answer listed first in the scheme); for a scheme without a class
    question, or one this installation does not know, the majority of each annotation's
    first scalar answer (ties to the answer voted first). None where no annotation has
    such an answer. Items annotated under several schemes count every annotation; the label
    is that of the scheme with the most annotations of the item (the first such scheme on
    equal counts). What Gallery badges and the Explorer's ``label`` colour show.
    """
    from workbench.core.schemes import get_scheme

    df = store.annotations()
    wanted = {str(i) for i in ids}
    if not len(df):
        return {}
    df = df[df["item_id"].astype(str).isin(wanted)]
    best: dict = {}   # item -> (n of this scheme, label)
    total: dict = {}
    for sch, part in df.groupby("scheme", sort=False):
        try:
            scheme = get_scheme(sch)
            cq = scheme.class_question
        except Exception:  # noqa: BLE001 - a scheme this installation does not know
            scheme, cq = None, None
        if cq is not None:
            m = majority(part, scheme, questions=[cq])
            labels = dict(zip(m["item_id"].astype(str), m[cq].astype(object)))
            counts = dict(zip(m["item_id"].astype(str), m["n_annotations"].astype(int)))
        else:
            votes: dict = {}
            for iid, ans in zip(part["item_id"].astype(str), part["answers"]):
                v = next(iter((ans or {}).values()), None)
                votes.setdefault(iid, []).append(v)
            labels, counts = {}, {}
            for iid, vs in votes.items():
                named = [v for v in vs if v is not None and not isinstance(v, (list, dict))]
                labels[iid] = _vote(named)[0] if named else None
                counts[iid] = len(vs)
        for iid, n in counts.items():
            lab = labels.get(iid)
            lab = None if lab is None or lab is pd.NA or (isinstance(lab, float)
                                                         and np.isnan(lab)) else str(lab)
            total[iid] = total.get(iid, 0) + n
            if iid not in best or n > best[iid][0]:
                best[iid] = (n, lab)
    return {iid: (best[iid][1], total[iid]) for iid in best}


# ---------------------------------------------------------------------- campaigns
def campaign_consensus(campaign, method: str | None = None, **kwargs) -> pd.DataFrame:
    """Consensus labels of a campaign's live annotations.

    ``method``: ``"majority"`` (per question, :func:`majority`), ``"dawid-skene"``
    (annotator-skill weighting; the campaign's gold items are passed as ``gold``, merged with
    any ``gold={item_id: value}`` given, and with gold items the ``model`` defaults to
    ``"one-coin"``, which weights annotators by their accuracy on gold) or ``"rgz"`` (source
    identification; the default for schemes with a components question).

    With gold items, majority and Dawid-Skene results have a ``gold`` column, and a gold
    item's ``label`` (and class-question answer) is its gold answer, whatever the votes.
    """
    scheme = campaign.scheme
    if method is None:
        method = "rgz" if any(q.type == "components" for q in scheme.questions) \
            else "majority"
    ann = campaign.annotations()
    item_ids = campaign.item_ids
    gold = campaign.gold
    if method == "majority":
        df = majority(ann, scheme, item_ids=item_ids, **kwargs)
        return _with_gold(df, gold, scheme.class_question) if gold else df
    if method in ("dawid-skene", "dawid_skene", "ds"):
        merged = {**gold, **{str(k): v for k, v in dict(kwargs.pop("gold", None)
                                                          or {}).items()}}
        if merged:
            kwargs.setdefault("model", "one-coin")
        return dawid_skene(ann, scheme, item_ids=item_ids, gold=merged or None, **kwargs)
    if method == "rgz":
        return rgz_consensus(ann, scheme, item_ids=item_ids, **kwargs)
    raise StoreError(f"unknown consensus method {method!r}; use majority, dawid-skene or rgz")


def _with_gold(df: pd.DataFrame, gold: Mapping, qid: str | None) -> pd.DataFrame:
    """Majority consensus with a ``gold`` column; gold items take their gold answer."""
    df = df.copy()
    is_gold = df["item_id"].astype(str).isin(list(gold)).to_numpy()
    df["gold"] = is_gold
    if qid is not None and is_gold.any():
        answers = [gold[i] for i in df.loc[is_gold, "item_id"].astype(str)]
        for col in (qid, "label"):
            if col in df.columns:
                df.loc[is_gold, col] = answers
    return df

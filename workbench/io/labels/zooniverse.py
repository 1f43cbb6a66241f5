"""Import a Zooniverse (Panoptes) classification export into a campaign.

A Panoptes project's *classification export* is a CSV with one row per classification:
``classification_id``, ``user_name``, ``user_id``, ``user_ip`` (a hash), ``workflow_id``,
``workflow_name``, ``workflow_version``, ``created_at`` (``2024-05-01 10:00:00 UTC``),
``gold_standard``, ``expert``, ``metadata`` (JSON: ``started_at``, ``finished_at``, ...),
``annotations`` (JSON list of ``{"task", "task_label", "value"}``), ``subject_data`` (JSON
keyed by subject id: the subject's metadata, e.g. the ``#workbench_id`` our
:func:`~workbench.io.export_zooniverse.export_zooniverse` manifest put there) and
``subject_ids``.

The mapping file
----------------
A small JSON file says how the workflow's question tasks become answers of the campaign's
scheme::

    {
      "subject_key": "#workbench_id",
      "tasks": {
        "T0": {"question": "morphology",
               "answers": {"FR I": "FRI", "FR II": "FRII", "Hybrid": "hybrid"}},
        "T1": {"question": "confidence",
               "answers": {"Confident": "confident", "0": "confident", "1": "uncertain"}}
      }
    }

``subject_key`` (default ``#workbench_id``; ``workbench_id`` and ``!workbench_id`` are
tried too) names the subject metadata field holding our item id. ``subjects`` (optional)
maps Zooniverse subject ids to item ids directly, for subjects uploaded without it. Under
``tasks`` each question task names a scheme question and maps the export's answer values
(the answer label as exported, or its index as text) to the question's values; a
multiple-choice task's list of answers maps element by element. Tasks not in the mapping
(drawing tasks, shortcuts) are ignored and counted.

What is stored
--------------
One annotation per classification: annotator ``zooniverse:<user_name>`` (not-logged-in
volunteers keep Panoptes' stable ``not-logged-in-<ip hash>`` name, or get one from
``user_ip``), ``ended`` = ``created_at`` (``started`` = ``metadata.started_at`` when
present), source ``zooniverse`` and source_detail ``classification_id``, ``subject_id``,
``workflow_id``, ``workflow_version``, ``user_id``, ``gold_standard``, ``expert``. The
annotation's uid is ``zooniverse-<classification_id>-<campaign hash>``, so importing the
same export into the same campaign again adds nothing (and into another campaign is not
mistaken for it).

Nothing is guessed: a subject whose item id is unknown (or not in the campaign), an answer
the mapping does not list, or answers the scheme refuses make the classification a
problem. With ``errors="raise"`` (default) any problem stops the import **before anything
is written**, in one line naming the file, the classification and the field; with
``errors="skip"`` those classifications are left out and the report counts them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from workbench.core.errors import InputError, SchemeError, StoreError

__all__ = ["ZooniverseImport", "load_mapping", "read_classifications", "import_zooniverse",
           "REQUIRED_COLUMNS", "UID_PREFIX", "ANNOTATOR_PREFIX"]

#: Columns a Panoptes classification export must have.
REQUIRED_COLUMNS = ("classification_id", "user_name", "workflow_id", "workflow_version",
                    "created_at", "annotations", "subject_data", "subject_ids")
UID_PREFIX = "zooniverse-"
ANNOTATOR_PREFIX = "zooniverse:"
_SUBJECT_KEYS = ("#workbench_id", "workbench_id", "!workbench_id")
_CID = re.compile(r"^\d{1,20}$")  # uids are at most 40 characters


@dataclass
class ZooniverseImport:
    """What an import did: counts, and the problems by kind (JSON-safe via :meth:`to_dict`)."""

    path: str
    campaign: str
    n_rows: int = 0
    n_added: int = 0
    n_already: int = 0
    n_other_workflow: int = 0
    n_other_version: int = 0
    n_skipped: int = 0
    unknown_subjects: dict = field(default_factory=dict)   # subject id -> classifications
    unknown_answers: dict = field(default_factory=dict)    # "task: value" -> count
    ignored_tasks: dict = field(default_factory=dict)      # task -> count
    invalid: list = field(default_factory=list)            # {classification_id, reason}
    annotators: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


class _Problem(Exception):
    def __init__(self, kind: str, reason: str, key=None):
        super().__init__(reason)
        self.kind, self.reason, self.key = kind, reason, key


def load_mapping(path, scheme) -> dict:
    """Read and check a mapping file against ``scheme``: every task names a question of the
    scheme and maps to values that question allows. Raises :class:`InputError`."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError("no such mapping file", path=path) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"mapping is not a JSON file ({str(exc)[:80]})", path=path) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("tasks"), dict) or not doc["tasks"]:
        raise InputError("mapping needs a 'tasks' object ({task: {question, answers}})",
                         path=path, hint="see workbench.io.labels.zooniverse for the format")
    key = doc.get("subject_key")
    if key is not None and not isinstance(key, str):
        raise InputError("mapping field 'subject_key' must be text", path=path)
    subjects = doc.get("subjects", {})
    if not isinstance(subjects, dict):
        raise InputError("mapping field 'subjects' must be an object {subject_id: item_id}",
                         path=path)
    tasks = {}
    for task, spec in doc["tasks"].items():
        where = f"tasks.{task}"
        if not isinstance(spec, dict) or not isinstance(spec.get("question"), str) \
                or not isinstance(spec.get("answers"), dict) or not spec["answers"]:
            raise InputError(f"mapping field {where} needs 'question' (text) and 'answers' "
                             f"(an object)", path=path)
        try:
            q = scheme.question(spec["question"])
        except (KeyError, SchemeError):
            q = None
        if q is None or q.type not in ("choice", "multi"):
            raise InputError(f"mapping field {where}.question: {spec['question']!r} is not a "
                             f"choice question of scheme {scheme.name!r}", path=path)
        allowed = {str(v): v for v in q.values}
        answers = {}
        for k, v in spec["answers"].items():
            if str(v) not in allowed:
                raise InputError(f"mapping field {where}.answers[{k!r}]: {v!r} is not one of "
                                 f"{list(allowed)}", path=path)
            answers[str(k).strip()] = allowed[str(v)]
        tasks[str(task)] = {"question": q.id, "multi": q.type == "multi", "answers": answers}
    return {"subject_key": key, "subjects": {str(k): str(v) for k, v in subjects.items()},
            "tasks": tasks}


def read_classifications(path) -> pd.DataFrame:
    """The export as text columns (nothing converted), its columns checked."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such classification export", path=path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas' parser errors name the line
        raise InputError(f"cannot read the classification export ({str(exc)[:120]})",
                         path=path) from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"is not a Panoptes classification export: no column(s) {missing}",
                         path=path, hint="download it from the project's Data Exports page")
    return df


def _json(text, what):
    try:
        return json.loads(text) if text else None
    except ValueError:
        raise _Problem("invalid", f"{what} is not JSON") from None


def _time(text, what):
    if not text:
        return None
    t = pd.to_datetime(text.replace(" UTC", "+00:00"), utc=True, errors="coerce")
    if pd.isna(t):
        raise _Problem("invalid", f"{what} {text[:40]!r} is not a time")
    return t.tz_convert(None).to_pydatetime()


def _annotator(row) -> str:
    name = row.get("user_name", "").strip()
    if not name:
        ip = row.get("user_ip", "").strip()
        if not ip:
            raise _Problem("invalid", "user_name and user_ip are both empty")
        name = f"not-logged-in-{ip}"
    return ANNOTATOR_PREFIX + name


def _item_id(row, mapping, item_ids):
    data = _json(row["subject_data"], "subject_data")
    sid = str(row["subject_ids"]).split(";")[0].strip()
    meta = data.get(sid) if isinstance(data, dict) else None
    if meta is None and isinstance(data, dict) and len(data) == 1:
        sid, meta = next(iter(data.items()))
    item = mapping["subjects"].get(sid)
    if item is None and isinstance(meta, dict):
        keys = (mapping["subject_key"],) if mapping["subject_key"] else _SUBJECT_KEYS
        item = next((str(meta[k]) for k in keys if meta.get(k) not in (None, "")), None)
    if item is None or item not in item_ids:
        raise _Problem("subject", f"subject {sid} is not a known item of the campaign"
                       + ("" if item is None else f" (item {item!r})"), key=sid)
    return sid, item


def _answers(row, mapping, report_ignored):
    anns = _json(row["annotations"], "annotations")
    if not isinstance(anns, list):
        raise _Problem("invalid", "annotations is not a JSON list")
    out = {}
    for a in anns:
        if not isinstance(a, dict) or "task" not in a:
            raise _Problem("invalid", "an annotation has no 'task'")
        task = str(a["task"])
        spec = mapping["tasks"].get(task)
        if spec is None:
            report_ignored[task] += 1
            continue
        value = a.get("value")
        values = value if isinstance(value, list) else [value]
        mapped = []
        for v in values:
            if isinstance(v, dict):
                raise _Problem("invalid", f"task {task} is not a question task (its value is "
                                          f"an object)")
            got = spec["answers"].get(str(v).strip() if v is not None else "")
            if got is None:
                raise _Problem("answer", f"task {task}: answer {str(v)[:60]!r} is not in the "
                                         f"mapping", key=f"{task}: {str(v)[:60]}")
            mapped.append(got)
        if spec["multi"]:
            out[spec["question"]] = mapped
        elif len(mapped) != 1:
            raise _Problem("invalid", f"task {task} has {len(mapped)} answers; its question "
                                      f"{spec['question']!r} takes one")
        else:
            out[spec["question"]] = mapped[0]
    if not out:
        raise _Problem("answer", "no mapped question task was answered", key="(none)")
    return out


def _version_ok(text: str, want: str | None) -> bool:
    if want is None:
        return True
    want = str(want).strip()
    return text.strip() == want or ("." not in want and text.strip().split(".")[0] == want)


def import_zooniverse(store, path, campaign: str, *, workflow, mapping, version=None,
                      errors: str = "raise") -> ZooniverseImport:
    """Import the classifications of ``workflow`` (and ``version``: ``"12"`` matches every
    ``12.x``, ``"12.3"`` only that one) from the Panoptes export ``path`` into ``campaign``.

    ``mapping``: a mapping file path or an already loaded mapping (:func:`load_mapping`).
    See the module docstring for what is stored, idempotence and ``errors``.
    """
    if errors not in ("raise", "skip"):
        raise ValueError("errors must be 'raise' or 'skip'")
    path = Path(path)
    camp = store.campaign(campaign)
    scheme = camp.scheme
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping, scheme)
    item_ids = set(camp.item_ids)
    tag = hashlib.sha1(camp.name.encode("utf-8")).hexdigest()[:8]
    df = read_classifications(path)
    report = ZooniverseImport(path=str(path), campaign=camp.name, n_rows=len(df))
    done = set()
    prev = store.annotations(campaign=camp.name, include_retracted=True)
    for src, det in zip(prev["source"], prev["source_detail"]):
        if src == "zooniverse" and isinstance(det, dict) and "classification_id" in det:
            done.add(str(det["classification_id"]))
    ignored: Counter = Counter()
    unknown_s: Counter = Counter()
    unknown_a: Counter = Counter()
    todo = []
    seen = set()
    for k, row in enumerate(df.to_dict("records")):
        cid = str(row["classification_id"]).strip()
        if str(row["workflow_id"]).strip() != str(workflow).strip():
            report.n_other_workflow += 1
            continue
        if not _version_ok(str(row["workflow_version"]), version):
            report.n_other_version += 1
            continue
        try:
            if not _CID.match(cid):
                raise _Problem("invalid", f"classification_id {cid[:30]!r} is not a number")
            if cid in seen:
                raise _Problem("invalid", "the classification appears twice in the file")
            seen.add(cid)
            if cid in done:
                report.n_already += 1
                continue
            sid, item = _item_id(row, mapping, item_ids)
            answers = _answers(row, mapping, ignored)
            try:
                clean = scheme.validate(answers)
            except SchemeError as exc:
                raise _Problem("invalid", f"answers {answers} do not fit scheme "
                                          f"{scheme.name!r}: {exc.reason}") from None
            meta = _json(row.get("metadata", ""), "metadata") or {}
            started = _time(str(meta.get("started_at") or ""), "metadata.started_at") \
                if isinstance(meta, dict) else None
            ended = _time(row["created_at"], "created_at")
            if ended is None:
                raise _Problem("invalid", "created_at is empty")
            todo.append({"item_id": item, "answers": clean, "annotator": _annotator(row),
                         "started": started, "ended": ended, "uid": f"{UID_PREFIX}{cid}-{tag}",
                         "detail": {"classification_id": cid, "subject_id": sid,
                                    "workflow_id": str(row["workflow_id"]).strip(),
                                    "workflow_version": str(row["workflow_version"]).strip(),
                                    "user_id": row.get("user_id") or None,
                                    "gold_standard": _flag(row.get("gold_standard")),
                                    "expert": row.get("expert") or None}})
        except _Problem as p:
            if p.kind == "subject":
                unknown_s[p.key] += 1
            elif p.kind == "answer":
                unknown_a[p.key] += 1
            else:
                report.invalid.append({"classification_id": cid, "line": k + 2,
                                       "reason": p.reason})
            if errors == "raise":
                raise InputError(f"classification {cid} (line {k + 2}): {p.reason}",
                                 path=path, hint="fix the mapping, or pass --errors skip to "
                                                 "leave such classifications out; nothing "
                                                 "was imported") from None
            report.n_skipped += 1
    report.unknown_subjects = dict(unknown_s)
    report.unknown_answers = dict(unknown_a)
    report.ignored_tasks = dict(ignored)
    if report.n_other_workflow == len(df) and len(df):
        found = sorted({str(v) for v in df["workflow_id"]})[:8]
        raise InputError(f"no classification of workflow {workflow} (workflows in the file: "
                         f"{found})", path=path)
    for t in todo:
        try:
            store.annotate(t["item_id"], t["answers"], annotator=t["annotator"],
                           campaign=camp.name, started=t["started"], ended=t["ended"],
                           source="zooniverse", source_detail=t["detail"], uid=t["uid"])
        except StoreError as exc:
            raise StoreError(f"{path}: classification {t['detail']['classification_id']}: "
                             f"{exc}") from exc
        report.n_added += 1
    report.annotators = len({t["annotator"] for t in todo})
    return report


def _flag(v) -> bool | None:
    text = str(v or "").strip().lower()
    if text in ("true", "t", "1", "yes"):
        return True
    if text in ("false", "f", "0", "no"):
        return False
    return None

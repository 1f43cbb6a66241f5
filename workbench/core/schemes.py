"""Label schemes: declarative, versioned question trees in the Galaxy Zoo manner.

A scheme is data, not code: a JSON (or YAML) file with a name, an integer version, a title
and an ordered list of questions. The shipped schemes live in ``workbench/core/schemes/``;
:func:`load_scheme` reads a user's own file.

Question types
--------------
``choice``
    One of the listed answers. Each answer has a ``value`` (what is stored), a ``label``
    (what is shown), a keyboard ``key`` ("1".."9") and optionally ``next``: the id of the
    follow-up question (None ends the tree, unless the question itself has a ``next``).
``multi``
    A list of distinct answer values (``min``/``max`` optional).
``components``
    A list of *sources*, each a set of component ids (the connected islands of
    :func:`workbench.imaging.islands.find_components`, numbered from 1) plus the answers to
    the question's ``per_source`` questions (``scope: "source"``). ``none_flag`` names the
    boolean answer key that says "there is nothing to select" (RGZ's "no contours").
``position``
    A pixel position ``{"x": float, "y": float}`` (x = column, y = row, 0-based, pixel
    centres at integers); ``nullable`` questions also accept ``None`` (RGZ's "no host").
``text``
    Free text (``max_length`` optional, default 2000 characters).

Answers
-------
An annotation's answers are a dict ``{question_id: value}`` holding exactly the questions on
the path the annotator took through the tree. For the ``rgz`` scheme::

    {"no_contours": False,
     "sources": [{"components": [1, 3], "host": {"x": 74.2, "y": 70.9}, "morphology": "FRII"},
                 {"components": [2], "host": None, "morphology": "compact"}]}

and ``{"no_contours": True, "sources": []}`` when the image shows no contours. Components
are sorted, distinct integer ids >= 1, and no component belongs to two sources.
:meth:`Scheme.validate` checks an answers dict and returns it normalised (component lists
sorted, positions as floats, a missing ``no_contours`` filled in as False).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from workbench.core.errors import SchemeError

__all__ = [
    "Answer",
    "Question",
    "Scheme",
    "QUESTION_TYPES",
    "get_scheme",
    "list_schemes",
    "load_scheme",
    "register_scheme",
]

QUESTION_TYPES = ("choice", "multi", "components", "position", "text")
_SHIPPED = Path(__file__).with_name("schemes")
_REGISTRY: dict[tuple[str, int], Scheme] = {}
_LOADED = False
_LOADING = threading.Lock()  # threads (a server's) must not see a half-loaded registry


@dataclass(frozen=True)
class Answer:
    """One allowed answer of a ``choice`` or ``multi`` question.

    ``value`` is stored in the label store, ``label`` is shown, ``key`` is the keyboard
    shortcut ("1".."9") and ``next`` the id of the follow-up question (or None).
    """

    value: object
    label: str
    key: str | None = None
    next: str | None = None

    def to_json(self) -> dict:
        return {"value": self.value, "label": self.label, "key": self.key, "next": self.next}


@dataclass(frozen=True)
class Question:
    """One question of a scheme.

    Attributes
    ----------
    id, text, type : str
        ``type`` is one of :data:`QUESTION_TYPES`.
    answers : tuple of Answer
        The allowed answers (``choice`` and ``multi`` only).
    next : str or None
        The follow-up question when the chosen answer names none.
    scope : str
        ``"item"`` (asked once per item) or ``"source"`` (asked per source of a
        ``components`` question).
    per_source : tuple of str
        For ``components``: the ids of the questions asked for each source.
    none_flag : str or None
        For ``components``: the boolean answer key meaning "nothing to select".
    nullable : bool
        For ``position``: ``None`` is allowed (e.g. "no host").
    required : bool
        An unanswered required question makes the answers invalid.
    extra : dict
        Any other keys of the question's JSON (labels, keys, limits) for front ends.
    """

    id: str
    text: str
    type: str
    answers: tuple = ()
    next: str | None = None
    scope: str = "item"
    per_source: tuple = ()
    none_flag: str | None = None
    nullable: bool = False
    required: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def values(self) -> list:
        """The allowed answer values, in order."""
        return [a.value for a in self.answers]

    def answer(self, value) -> Answer:
        for a in self.answers:
            if a.value == value and type(a.value) is type(value):
                return a
        raise KeyError(value)

    def to_json(self) -> dict:
        d = {"id": self.id, "text": self.text, "type": self.type, "next": self.next,
             "scope": self.scope, "required": self.required}
        if self.answers:
            d["answers"] = [a.to_json() for a in self.answers]
        if self.per_source:
            d["per_source"] = list(self.per_source)
        if self.none_flag:
            d["none_flag"] = self.none_flag
        if self.type == "position":
            d["nullable"] = self.nullable
        d.update(self.extra)
        return d


_QKEYS = {"id", "text", "type", "answers", "next", "scope", "per_source", "none_flag",
          "nullable", "required"}


class Scheme:
    """A versioned question tree. Build one with :meth:`from_dict` or :func:`load_scheme`.

    Attributes
    ----------
    name : str
    version : int
    title, description : str
    questions : list of Question
        In order; the first item-scope question is where annotators start.
    kinds : list of str
        Item kinds the scheme is meant for (empty: any).
    class_question : str
        The question whose answer values are the classes a classifier learns.
    """

    def __init__(self, name: str, version: int, title: str, questions, *, description: str = "",
                 kinds=(), class_question: str | None = None, path: str | None = None):
        self.name = str(name)
        self.version = int(version)
        self.title = title
        self.description = description
        self.questions = list(questions)
        self.kinds = list(kinds)
        self.path = path
        self._by_id = {q.id: q for q in self.questions}
        if class_question is None:
            choice = [q for q in self.questions if q.type == "choice"]
            class_question = choice[0].id if choice else None
        self.class_question = class_question
        self._check()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, d: Mapping, *, path=None) -> Scheme:
        """Build a scheme from its JSON-like dict (see the module docstring)."""
        where = f"scheme {d.get('name', '?')!r}" + (f" ({path})" if path else "")
        for key in ("name", "version", "questions"):
            if key not in d:
                raise SchemeError(f"{where} has no {key!r}", path=path)
        try:
            version = int(d["version"])
        except (TypeError, ValueError) as exc:
            raise SchemeError(f"{where}: version must be an integer, not {d['version']!r}",
                              path=path) from exc
        questions = []
        for qd in d["questions"]:
            if not isinstance(qd, Mapping) or "id" not in qd or "type" not in qd:
                raise SchemeError(f"{where}: every question needs an 'id' and a 'type' "
                                  f"(got {qd!r})", path=path)
            answers = tuple(
                Answer(a["value"], str(a.get("label", a["value"])),
                       None if a.get("key") is None else str(a["key"]), a.get("next"))
                for a in qd.get("answers", ()))
            questions.append(Question(
                id=str(qd["id"]), text=str(qd.get("text", qd["id"])), type=str(qd["type"]),
                answers=answers, next=qd.get("next"), scope=qd.get("scope", "item"),
                per_source=tuple(qd.get("per_source", ())), none_flag=qd.get("none_flag"),
                nullable=bool(qd.get("nullable", False)), required=bool(qd.get("required", True)),
                extra={k: v for k, v in qd.items() if k not in _QKEYS}))
        return cls(d["name"], version, d.get("title", d["name"]), questions,
                   description=d.get("description", ""), kinds=d.get("kinds", ()),
                   class_question=d.get("class_question"), path=None if path is None else str(path))

    def to_dict(self) -> dict:
        """The scheme as a JSON-safe dict (the form :meth:`from_dict` reads)."""
        return {"name": self.name, "version": self.version, "title": self.title,
                "description": self.description, "kinds": self.kinds,
                "class_question": self.class_question,
                "questions": [q.to_json() for q in self.questions]}

    def _fail(self, message: str) -> SchemeError:
        user_file = self.path is not None and Path(self.path).parent != _SHIPPED
        return SchemeError(f"scheme {self.name!r} v{self.version}: {message}",
                           path=self.path if user_file else None)

    def _check(self) -> None:
        if not self.questions:
            raise self._fail("has no questions")
        seen = set()
        for q in self.questions:
            if q.id in seen:
                raise self._fail(f"question id {q.id!r} appears twice")
            seen.add(q.id)
            if q.type not in QUESTION_TYPES:
                raise self._fail(f"question {q.id!r} has unknown type {q.type!r}; "
                                 f"use one of {QUESTION_TYPES}")
            if q.scope not in ("item", "source"):
                raise self._fail(f"question {q.id!r} has scope {q.scope!r}; use 'item' or 'source'")
            if q.type in ("choice", "multi") and not q.answers:
                raise self._fail(f"question {q.id!r} ({q.type}) lists no answers")
            vals = q.values
            if len(set(map(repr, vals))) != len(vals):
                raise self._fail(f"question {q.id!r} has duplicate answer values")
            keys = [a.key for a in q.answers if a.key is not None]
            if len(set(keys)) != len(keys):
                raise self._fail(f"question {q.id!r} has duplicate keyboard keys {keys}")
        for q in self.questions:
            targets = [q.next] + [a.next for a in q.answers] + list(q.per_source)
            for t in targets:
                if t is not None and t not in self._by_id:
                    raise self._fail(f"question {q.id!r} refers to unknown question {t!r}")
            for t in q.per_source:
                if self._by_id[t].scope != "source":
                    raise self._fail(f"per-source question {t!r} must have scope 'source'")
        if self.class_question is not None and self.class_question not in self._by_id:
            raise self._fail(f"class_question {self.class_question!r} is not a question")
        # no cycles: every path from the start must end
        for q in self.questions:
            self._path_ids(q.id, set())

    def _path_ids(self, qid, stack):
        if qid in stack:
            raise self._fail(f"question tree has a cycle through {qid!r}")
        q = self._by_id[qid]
        for t in {q.next, *[a.next for a in q.answers]} - {None}:
            self._path_ids(t, stack | {qid})

    # ------------------------------------------------------------------ navigation
    @property
    def first(self) -> str:
        """Id of the first question an annotator sees."""
        return next(q.id for q in self.questions if q.scope == "item")

    def question(self, qid: str) -> Question:
        """The question with this id (KeyError naming the scheme if none)."""
        try:
            return self._by_id[qid]
        except KeyError:
            raise KeyError(f"scheme {self.name!r} has no question {qid!r}; it has "
                           f"{list(self._by_id)}") from None

    def next_question(self, qid: str, value=None) -> str | None:
        """The question that follows ``qid`` when it was answered with ``value``."""
        q = self.question(qid)
        if q.type == "choice" and value is not None:
            try:
                a = q.answer(value)
            except KeyError:
                a = None
            if a is not None and a.next is not None:
                return a.next
        return q.next

    @property
    def classes(self) -> list:
        """Flat list of final class values (the answers of :attr:`class_question`)."""
        if self.class_question is None:
            return []
        return list(self.question(self.class_question).values)

    @property
    def item_questions(self) -> list[Question]:
        return [q for q in self.questions if q.scope == "item"]

    # ------------------------------------------------------------------ validation
    def validate(self, answers: Mapping, *, n_components: int | None = None) -> dict:
        """Check an answers dict against the tree; return it normalised.

        Parameters
        ----------
        answers : dict
            ``{question_id: value}`` (see the module docstring).
        n_components : int, optional
            The number of components of the item; component ids above it are refused.

        Raises
        ------
        SchemeError
            Naming the scheme, the question and the bad value.
        """
        if not isinstance(answers, Mapping):
            raise self._fail(f"answers must be a dict of question id -> value, "
                             f"not {type(answers).__name__}")
        out: dict = {}
        allowed = self._walk([self.first], answers, out, n_components, where="")
        extra = set(answers) - allowed
        if extra:
            raise self._fail(f"answers to questions {sorted(map(str, extra))} are not on the "
                             f"path taken through the tree (valid here: {sorted(allowed)})")
        return out

    def _walk(self, starts, answers, out, n_components, where) -> set:
        allowed = set()
        for start in starts:
            qid = start
            while qid is not None:
                q = self._by_id[qid]
                allowed.add(qid)
                if q.type == "components" and q.none_flag:
                    allowed.add(q.none_flag)
                    if not isinstance(answers.get(q.none_flag, False), bool):
                        raise self._fail(f"{where}question {qid!r}: {q.none_flag!r} must be "
                                         f"true or false, got {answers[q.none_flag]!r}")
                if qid not in answers and not (q.type == "components" and q.none_flag
                                               and answers.get(q.none_flag) is True):
                    if q.required:
                        raise self._fail(f"{where}question {qid!r} is not answered "
                                         f"({q.text!r})")
                    break
                value = self._check_value(q, answers.get(qid), answers, out, n_components, where)
                qid = self.next_question(qid, value)
        return allowed

    def _check_value(self, q: Question, value, answers, out, n_components, where):
        bad = f"{where}question {q.id!r}: "
        if q.type == "choice":
            try:
                q.answer(value)
            except KeyError:
                raise self._fail(f"{bad}answer {value!r} is not allowed; choose one of "
                                 f"{q.values}") from None
            out[q.id] = value
        elif q.type == "multi":
            if not isinstance(value, (list, tuple)):
                raise self._fail(f"{bad}expected a list of answers, got {value!r}")
            for v in value:
                try:
                    q.answer(v)
                except KeyError:
                    raise self._fail(f"{bad}answer {v!r} is not allowed; choose from "
                                     f"{q.values}") from None
            if len(set(map(repr, value))) != len(value):
                raise self._fail(f"{bad}answers {list(value)!r} repeat a value")
            lo, hi = q.extra.get("min", 0), q.extra.get("max", len(q.answers))
            if not lo <= len(value) <= hi:
                raise self._fail(f"{bad}{len(value)} answers given; between {lo} and {hi} allowed")
            order = q.values
            out[q.id] = sorted(value, key=order.index)
        elif q.type == "text":
            if not isinstance(value, str):
                raise self._fail(f"{bad}expected text, got {value!r}")
            limit = int(q.extra.get("max_length", 2000))
            if len(value) > limit:
                raise self._fail(f"{bad}text is {len(value)} characters; at most {limit}")
            out[q.id] = value
        elif q.type == "position":
            out[q.id] = self._check_position(q, value, bad)
        elif q.type == "components":
            self._check_components(q, value, answers, out, n_components, where)
            return None
        return value

    def _check_position(self, q: Question, value, bad):
        if value is None:
            if q.nullable:
                return None
            raise self._fail(f"{bad}a position is required (this question has no 'none' answer)")
        if not isinstance(value, Mapping) or "x" not in value or "y" not in value:
            raise self._fail(f"{bad}expected a position {{'x': .., 'y': ..}}, got {value!r}")
        try:
            pos = {k: float(v) for k, v in value.items()
                   if k in ("x", "y", "ra", "dec") and v is not None}
        except (TypeError, ValueError):
            raise self._fail(f"{bad}position {value!r} has a non-numeric coordinate") from None
        if not all(math.isfinite(v) for v in pos.values()):
            raise self._fail(f"{bad}position {value!r} is not finite")
        return pos

    def _check_components(self, q, value, answers, out, n_components, where):
        bad = f"{where}question {q.id!r}: "
        flag = bool(answers.get(q.none_flag, False)) if q.none_flag else False
        if q.none_flag:
            if not isinstance(answers.get(q.none_flag, False), bool):
                raise self._fail(f"{bad}{q.none_flag!r} must be true or false, "
                                 f"got {answers.get(q.none_flag)!r}")
            out[q.none_flag] = flag
        value = [] if value is None else value
        if not isinstance(value, (list, tuple)):
            raise self._fail(f"{bad}expected a list of sources, got {value!r}")
        if flag and value:
            raise self._fail(f"{bad}{q.none_flag!r} is true but {len(value)} source(s) "
                             f"were given")
        if not flag and not value:
            raise self._fail(f"{bad}no sources given; select at least one source"
                             + (f" or answer {q.none_flag!r}" if q.none_flag else ""))
        used: set = set()
        sources = []
        for k, src in enumerate(value):
            sw = f"{where}source {k}: "
            if not isinstance(src, Mapping) or "components" not in src:
                raise self._fail(f"{bad}source {k} must be a dict with 'components', got {src!r}")
            comps = src["components"]
            if not isinstance(comps, (list, tuple)) or not comps:
                raise self._fail(f"{bad}source {k} has no components ({comps!r})")
            ids = []
            for c in comps:
                if isinstance(c, bool) or not isinstance(c, (int, float)) or int(c) != c or c < 1:
                    raise self._fail(f"{bad}source {k}: component id {c!r} is not an integer >= 1")
                if n_components is not None and int(c) > n_components:
                    raise self._fail(f"{bad}source {k}: component {int(c)} does not exist "
                                     f"(the item has {n_components})")
                ids.append(int(c))
            if len(set(ids)) != len(ids):
                raise self._fail(f"{bad}source {k} repeats a component: {ids}")
            if used & set(ids):
                raise self._fail(f"{bad}component(s) {sorted(used & set(ids))} belong to "
                                 f"two sources")
            used |= set(ids)
            sub: dict = {"components": sorted(ids)}
            allowed = self._walk(list(q.per_source), src, sub, n_components, sw)
            extra = set(src) - allowed - {"components"}
            if extra:
                raise self._fail(f"{bad}source {k} has unknown answers {sorted(extra)}")
            sources.append(sub)
        out[q.id] = sources

    def __repr__(self) -> str:
        return f"<Scheme {self.name!r} v{self.version}: {len(self.questions)} questions>"

    def __eq__(self, other) -> bool:
        return isinstance(other, Scheme) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.name, self.version))


# ---------------------------------------------------------------------- registry
def load_scheme(path) -> Scheme:
    """Read a scheme from a JSON or YAML file (a user's own scheme).

    The file holds the dict described in the module docstring. The scheme is also
    registered, so :func:`get_scheme` finds it by name afterwards.
    """
    path = Path(path)
    if not path.exists():
        raise SchemeError("no such scheme file", path=path)
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError as exc:
                raise SchemeError("reading YAML schemes needs PyYAML", path=path,
                                  hint="pip install pyyaml, or write the scheme as JSON") from exc
            d = yaml.safe_load(text)
        else:
            d = json.loads(text)
    except SchemeError:
        raise
    except Exception as exc:
        raise SchemeError(f"cannot parse scheme file ({exc})", path=path) from exc
    if not isinstance(d, Mapping):
        raise SchemeError("a scheme file must hold one mapping (name, version, questions)",
                          path=path)
    scheme = Scheme.from_dict(d, path=path)
    register_scheme(scheme)
    return scheme


def register_scheme(scheme: Scheme | Mapping) -> Scheme:
    """Make a scheme known to :func:`get_scheme` (a dict is parsed first)."""
    if not isinstance(scheme, Scheme):
        scheme = Scheme.from_dict(scheme)
    _load_shipped()
    old = _REGISTRY.get((scheme.name, scheme.version))
    if old is not None and old != scheme:
        raise SchemeError(f"scheme {scheme.name!r} v{scheme.version} is already registered with "
                          f"different questions", hint="give the changed scheme a new version")
    _REGISTRY[(scheme.name, scheme.version)] = scheme
    return scheme


def _load_shipped() -> None:
    global _LOADED
    if _LOADED:
        return
    with _LOADING:
        if _LOADED:
            return
        for p in sorted(_SHIPPED.glob("*.json")):
            s = Scheme.from_dict(json.loads(p.read_text()), path=p)
            _REGISTRY[(s.name, s.version)] = s
        _LOADED = True


def get_scheme(name, version: int | None = None) -> Scheme:
    """A registered scheme by name (newest version unless ``version`` is given).

    ``name`` may also be a :class:`Scheme` (returned as is) or a path to a scheme file.
    """
    if isinstance(name, Scheme):
        return name
    _load_shipped()
    name = str(name)
    if name.endswith((".json", ".yaml", ".yml")) and Path(name).exists():
        return load_scheme(name)
    versions = sorted(v for (n, v) in _REGISTRY if n == name)
    if not versions:
        raise SchemeError(f"no label scheme named {name!r}; known schemes: "
                          f"{sorted({n for n, _ in _REGISTRY})}",
                          hint="see `workbench schemes`, or load your own with load_scheme(path)")
    if version is None:
        return _REGISTRY[(name, versions[-1])]
    if int(version) not in versions:
        raise SchemeError(f"scheme {name!r} has no version {version}; versions: {versions}")
    return _REGISTRY[(name, int(version))]


def list_schemes() -> list[Scheme]:
    """Every registered scheme (all versions), sorted by name then version."""
    _load_shipped()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]

"""Settings as small frozen dataclasses, stored with what they made and read back strictly.

A settings class (:class:`~workbench.learn.train.SSLConfig`,
:class:`~workbench.learn.supervised.TrainConfig`, :class:`~workbench.active.loop.LoopConfig`)
derives from :class:`Settings` and checks its values in ``__post_init__`` with :func:`check`,
so a bad value is refused where it is made, naming the setting. ``to_dict()`` gives the JSON
record stored in a checkpoint or a round; ``from_dict(record, path=...)`` reads it back into
the class: an unknown key or a bad value is an :class:`~workbench.core.errors.InputError`
naming the file, never silently accepted (a checkpoint or a round may come from someone else).
Nothing here evaluates or unpickles anything.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from workbench.core.errors import InputError

__all__ = ["Settings", "check", "tuple_of"]


def check(ok: bool, owner: str, name: str, value, expected: str) -> None:
    """InputError ``"<owner>.<name> = <value>: must be <expected>"`` unless ``ok``."""
    if not ok:
        raise InputError(f"{owner}.{name} = {value!r}: must be {expected}")


def tuple_of(value, kind, owner: str, name: str, *, allow_none: bool = False):
    """``value`` (a list or tuple of ``kind``) as a tuple; None passes when ``allow_none``."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, (list, tuple)) and all(
        isinstance(v, kind) and not isinstance(v, bool) for v in value)
    check(ok, owner, name, value, f"a list of {getattr(kind, '__name__', kind)}")
    return tuple(value)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Settings:
    """Base of the settings dataclasses: JSON records in, JSON records out.

    Subclasses are ``@dataclasses.dataclass(frozen=True)`` and may name nested settings in
    ``_NESTED`` (field name -> settings class).
    """

    _NESTED: ClassVar[dict] = {}

    def to_dict(self) -> dict:
        """The settings as a JSON-safe dict (tuples as lists, nested settings as dicts)."""
        def plain(v):
            if isinstance(v, Settings):
                return v.to_dict()
            if isinstance(v, (list, tuple)):
                return [plain(x) for x in v]
            if isinstance(v, dict):
                return {str(k): plain(x) for k, x in v.items()}
            return v

        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, data, *, path=None):
        """Read a stored record back: unknown keys or bad values raise InputError naming
        ``path`` (the checkpoint or round file the record came from)."""
        where = f" in {path}" if path is not None else ""
        if not isinstance(data, dict):
            raise InputError(f"{cls.__name__} record{where} is not a JSON object", path=path)
        unknown = sorted(set(data) - set(cls.field_names()))
        if unknown:
            raise InputError(f"unknown {cls.__name__} setting(s) {unknown}{where}", path=path,
                             hint=f"known settings: {', '.join(cls.field_names())}; the file "
                                  "was written by another version or changed by hand")
        kw = dict(data)
        for name, sub in cls._NESTED.items():
            if name in kw and not isinstance(kw[name], sub):
                kw[name] = sub.from_dict(kw[name], path=path)
        try:
            return cls(**kw)
        except InputError as exc:
            if path is None:
                raise
            raise InputError(f"bad {cls.__name__} record: {exc}", path=path,
                             hint=exc.hint) from None

    def with_options(self, **options):
        """A copy with ``options`` changed (each the name of a setting; checked again)."""
        unknown = sorted(set(options) - set(self.field_names()))
        if unknown:
            raise InputError(f"unknown {type(self).__name__} setting(s) {unknown}",
                             hint=f"known settings: {', '.join(self.field_names())}")
        return dataclasses.replace(self, **options)

    # shared value checks -------------------------------------------------------------
    def _int(self, name: str, lo: int, *, allow_none: bool = False) -> None:
        v = getattr(self, name)
        if v is None and allow_none:
            return
        check(isinstance(v, int) and not isinstance(v, bool) and v >= lo,
              type(self).__name__, name, v, f"an integer >= {lo}")

    def _float(self, name: str, lo: float, hi: float, *, lo_open: bool = False,
               hi_open: bool = False, allow_none: bool = False) -> None:
        v = getattr(self, name)
        if v is None and allow_none:
            return
        ok = _is_number(v) and (v > lo if lo_open else v >= lo) and (v < hi if hi_open
                                                                       else v <= hi)
        rng = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        check(ok, type(self).__name__, name, v, f"a number in {rng}")
        if isinstance(v, int):
            object.__setattr__(self, name, float(v))

    def _choice(self, name: str, choices, *, allow_none: bool = False) -> None:
        v = getattr(self, name)
        if v is None and allow_none:
            return
        check(isinstance(v, str) and v in choices, type(self).__name__, name, v,
              f"one of {sorted(choices)}")

    def _str(self, name: str, *, allow_none: bool = True) -> None:
        v = getattr(self, name)
        if v is None and allow_none:
            return
        check(isinstance(v, str) and v != "", type(self).__name__, name, v,
              "a non-empty string" + (" or None" if allow_none else ""))

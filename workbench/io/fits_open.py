"""Opening FITS files that may be hostile: every size a header claims is checked before data
is read.

Limits (documented in the README's ingest section):

* an uncompressed file must hold every byte its header claims (``NAXISn`` x ``|BITPIX|/8``,
  ``PCOUNT``/``GCOUNT`` included): a 6 KB file claiming 100000 x 100000 pixels is a
  :class:`~workbench.errors.FITSError`, not a 37 GiB allocation;
* a gzip, bzip2 or xz compressed file is stream-decompressed once (in 1 MiB chunks, which
  also checks its CRC) and may hold at most :data:`MAX_DECOMPRESSED_BYTES`; its headers are
  then checked against that decompressed size; zip archives are refused;
* a tile-compressed HDU (``.fz``) may decompress to at most :data:`MAX_DECOMPRESSED_BYTES`,
  and its compressed table must lie inside the file;
* the images of a Collection made by the image ingesters are at most :data:`MAX_STAMP_SIDE`
  pixels per side (:func:`check_stamp_shape`), and a batch of them holds at most
  :data:`BATCH_BYTES` (:func:`rows_per_batch`).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.core.errors import FITSError, InputError, WorkbenchError

__all__ = ["MAX_DECOMPRESSED_BYTES", "MAX_STAMP_SIDE", "BATCH_BYTES", "FitsFile", "open_fits",
           "open_fits_file", "card_value", "require_file", "check_stamp_shape", "rows_per_batch", "short_reason"]

#: Most bytes a compressed FITS file (gzip/bzip2/xz, or one tile-compressed HDU) may
#: decompress to. Decompress bigger files yourself (an uncompressed file is memory-mapped).
MAX_DECOMPRESSED_BYTES = 2**30
#: Largest side, in pixels, of the images the image ingesters put in a Collection.
MAX_STAMP_SIDE = 4096
#: Most bytes of images the ingesters hold for one batch write.
BATCH_BYTES = 256 * 2**20

_CHUNK = 2**20
_BITPIX = (8, 16, 32, 64, -32, -64)
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"),
          (b"PK\x03\x04", "zip"))


def short_reason(exc: BaseException, limit: int = 200) -> str:
    """``Type: message`` of an exception on one line, at most ``limit`` characters."""
    text = " ".join(str(exc).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _nbytes(n: float) -> str:
    for unit, div in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{int(n)} bytes"


def require_file(path, error=FITSError) -> Path:
    """``path`` as a Path; ``error`` (naming the file) if it is missing or has zero bytes."""
    path = Path(path)
    if not path.is_file():
        raise error("no such file", path=path)
    if path.stat().st_size == 0:
        raise error("is empty (zero bytes)", path=path)
    return path


_MISSING = object()


def card_value(header, key: str, default=None, *, raw: bool = False):
    """The value of header card ``key``, or ``default`` when absent.

    A card astropy cannot parse (corrupt bytes: astropy raises ``VerifyError`` on access)
    gives ``default``, or :data:`UNPARSABLE` when ``raw`` is true.
    """
    try:
        if key not in header:
            return default
        return header[key]
    except Exception:  # astropy's VerifyError and friends for corrupt cards
        return UNPARSABLE if raw else default


class _Unparsable:
    def __repr__(self) -> str:
        return "<unparsable>"


#: What :func:`card_value` returns (with ``raw=True``) for a card astropy cannot parse.
UNPARSABLE = _Unparsable()


def _whole(header, key: str, default, path, error, lo: int = 0, hi: int | None = None) -> int:
    v = card_value(header, key, _MISSING, raw=True)
    if v is _MISSING:
        return default
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo or (
            hi is not None and v > hi):
        raise error(f"header card {key} = {v!r:.40} is not a whole number in the allowed "
                    f"range ({lo}..{hi if hi is not None else 'any'})", path=path,
                    hint="the header is corrupt")
    return int(v)


def _container(path: Path) -> str | None:
    with open(path, "rb") as fh:
        head = fh.read(6)
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


def _stream_size(path: Path, kind: str, error) -> int:
    """Decompressed size of a gzip/bzip2/xz file, read in chunks (never whole in memory);
    ``error`` if it is corrupt or larger than :data:`MAX_DECOMPRESSED_BYTES`."""
    import bz2
    import gzip
    import lzma

    opener = {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}[kind]
    total = 0
    try:
        with opener(path, "rb") as fh:
            while True:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > MAX_DECOMPRESSED_BYTES:
                    raise error(f"{kind} file decompresses to more than "
                                f"{_nbytes(MAX_DECOMPRESSED_BYTES)} (the limit for compressed "
                                "FITS files)", path=path,
                                hint="decompress it yourself first; an uncompressed file is "
                                     "read in place")
    except WorkbenchError:
        raise
    except Exception as exc:  # zlib.error, EOFError, OSError, lzma.LZMAError, ...
        raise error(f"is a corrupt {kind} file ({short_reason(exc)})", path=path,
                    hint="download or copy it again") from exc
    return total


@dataclass
class FitsFile:
    """An open FITS file (see :func:`open_fits`).

    Attributes
    ----------
    hdul : astropy.io.fits.HDUList
    path : Path
    size : int
        Bytes of FITS data: the file's size, or its decompressed size when ``container``
        is ``"gzip"``, ``"bzip2"`` or ``"xz"``.
    container : str or None
    """

    hdul: object
    path: Path
    size: int
    container: str | None
    error: type = FITSError

    def data_bytes(self, idx: int) -> int:
        """Bytes of (decompressed) data HDU ``idx`` claims; ``error`` if its header claims
        more than the file holds or than the limit for compressed data, or its size cards
        are not whole numbers. Nothing of the data is read."""
        from astropy.io import fits

        h = self.hdul[idx]
        hdr = h.header
        err, path = self.error, self.path
        bitpix = _whole(hdr, "BITPIX", 8, path, err, lo=-64, hi=64)
        if bitpix not in _BITPIX:
            raise err(f"header card BITPIX = {bitpix} is not one of {_BITPIX}", path=path,
                      hint="the header is corrupt")
        naxis = _whole(hdr, "NAXIS", 0, path, err, hi=999)
        dims = [_whole(hdr, f"NAXIS{i}", 0, path, err) for i in range(1, naxis + 1)]
        if naxis == 0:
            nbytes = 0
        else:
            pcount = _whole(hdr, "PCOUNT", 0, path, err)
            gcount = _whole(hdr, "GCOUNT", 1, path, err)
            groups = card_value(hdr, "GROUPS") is True and dims[0] == 0
            nbytes = abs(bitpix) // 8 * gcount * (pcount + math.prod(dims[1:] if groups
                                                                      else dims))
        # where astropy found the data, and its padded size (HDUList.fileinfo() would give
        # the same but stringifies every header, which fails on a corrupt card)
        loc, span = int(h._data_offset or 0), int(h._data_size or 0)
        shape = "x".join(str(d) for d in dims) or "no"
        claim = f"{shape} pixels of {abs(bitpix)} bits ({_nbytes(nbytes)})"
        if isinstance(h, fits.CompImageHDU):
            claim = f"a compressed table of about {_nbytes(span)}"
            if nbytes > MAX_DECOMPRESSED_BYTES:
                raise err(f"HDU {idx} is tile-compressed and would decompress to "
                          f"{_nbytes(nbytes)} ({shape} pixels of {abs(bitpix)} bits), more "
                          f"than the {_nbytes(MAX_DECOMPRESSED_BYTES)} limit", path=path,
                          hint="funpack it first; an uncompressed file is read in place")
            on_disk = max(0, span - 2879)  # the compressed table, less at most its padding
        else:
            on_disk = nbytes
        if loc + on_disk > self.size:
            what = "decompressed file" if self.container else "file"
            raise err(f"is truncated or its header is corrupt: HDU {idx} claims {claim} "
                      f"from byte {loc}, but the {what} has {self.size} bytes", path=path,
                      hint="download or copy it again")
        return nbytes

    def check_scaling(self, idx: int) -> None:
        """``error`` unless BSCALE/BZERO (if present) are finite numbers, BSCALE non-zero."""
        hdr = self.hdul[idx].header
        for key in ("BSCALE", "BZERO"):
            v = card_value(hdr, key, _MISSING, raw=True)
            if v is _MISSING:
                continue
            ok = (not isinstance(v, bool) and isinstance(v, (int, float, np.number))
                  and np.isfinite(v))
            if not ok or (key == "BSCALE" and v == 0):
                raise self.error(f"header card {key} = {v!r:.40} is not a usable scale "
                                 "(a finite number, BSCALE non-zero)", path=self.path,
                                 hint="the header is corrupt")

    def read_data(self, idx: int):
        """The data of HDU ``idx`` (astropy's array: memory-mapped where the file allows
        it), after :meth:`data_bytes` and :meth:`check_scaling`."""
        self.data_bytes(idx)
        self.check_scaling(idx)
        return self.hdul[idx].data

    @contextlib.contextmanager
    def reading(self):
        """A block in which any exception that is not a workbench error (astropy's, a
        decompressor's) becomes ``error`` naming the file."""
        try:
            yield self
        except WorkbenchError:
            raise
        except Exception as exc:
            raise _unreadable(self.path, exc, self.container, self.error) from exc

    def close(self) -> None:
        self.hdul.close()


def open_fits_file(path, *, memmap: bool = False, scale: bool = True,
                   error=FITSError) -> FitsFile:
    """Open a FITS file for :class:`FitsFile`'s checked reads; close it with
    :meth:`FitsFile.close` (or use :func:`open_fits`). A missing, empty or zip file, a
    corrupt or oversized compressed one, or one astropy cannot open is ``error``."""
    from astropy.io import fits

    path = require_file(path, error)
    kind = _container(path)
    if kind == "zip":
        raise error("is a zip archive; FITS inside zip archives is not read", path=path,
                    hint="unzip it first")
    size = _stream_size(path, kind, error) if kind else path.stat().st_size
    try:
        hdul = fits.open(path, memmap=memmap, do_not_scale_image_data=not scale,
                         ignore_missing_simple=True)
    except Exception as exc:
        raise _unreadable(path, exc, kind, error) from exc
    return FitsFile(hdul, path, size, kind, error)


@contextlib.contextmanager
def open_fits(path, *, memmap: bool = False, scale: bool = True, error=FITSError):
    """Open a FITS file whose sizes are checked before any data is read; yields a
    :class:`FitsFile`.

    Any exception astropy (or a decompressor) raises in the block becomes ``error`` naming
    the file; so do a zip archive, a corrupt or oversized compressed file (see the module
    docstring for the limits). Read data only through :meth:`FitsFile.read_data`.
    """
    ff = open_fits_file(path, memmap=memmap, scale=scale, error=error)
    try:
        with ff.reading():
            yield ff
    finally:
        ff.close()


def _unreadable(path: Path, exc: BaseException, kind, error):
    if kind is None and path.stat().st_size % 2880:
        return error(f"is truncated: {path.stat().st_size} bytes is not a whole number of "
                     f"2880-byte FITS blocks ({short_reason(exc)})", path=path,
                     hint="download or copy it again")
    return error(f"cannot be read as FITS ({short_reason(exc)})", path=path,
                 hint="the file may be truncated, corrupt or not FITS; download it again")


def check_stamp_shape(shape, what: str = "size", path=None) -> tuple[int, int]:
    """``shape`` as ``(ny, nx)`` of whole numbers in 1..:data:`MAX_STAMP_SIDE`, else
    :class:`~workbench.errors.InputError` naming ``what``."""
    try:
        ny, nx = (int(s) for s in shape)
        whole = all(float(s) == int(s) for s in shape)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{what} {shape!r} is not two whole numbers (ny, nx)",
                         path=path) from None
    if not whole or min(ny, nx) < 1 or max(ny, nx) > MAX_STAMP_SIDE:
        raise InputError(f"{what} {ny}x{nx} px is outside 1..{MAX_STAMP_SIDE} px per side",
                         path=path, hint=f"choose a size of at most {MAX_STAMP_SIDE} px")
    return ny, nx


def rows_per_batch(batch_size: int, item_bytes: int) -> int:
    """Items per batch write: at most ``batch_size`` and :data:`BATCH_BYTES` of images."""
    return max(1, min(int(batch_size), BATCH_BYTES // max(1, int(item_bytes))))

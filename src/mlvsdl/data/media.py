"""Media inputs: folders, files, arrays and tables of paths; decoding; bad files.

Images and audio travel through mlvsdl in an ordinary DataFrame: one column holds, per row, a
path to a file or a decoded numpy array.

* :func:`read_inputs` reads a folder (one subfolder per class, or labels in file names via a
  pattern such as ``"{label}_*.wav"``), one media file, ``(arrays, labels)``, or a table (whose
  relative paths are resolved against its folder) into such a frame.
* :func:`media_kind` recognizes an image or audio column, so ``infer_schema`` can give it
  ``ColumnKind.IMAGE`` or ``ColumnKind.AUDIO``.
* :func:`check_inputs` decodes every file once (Pillow for images, soundfile for audio), brings
  it to the size or sample rate and length recorded in ``schema.media`` (chosen from the data at
  training), and skips or refuses the rows it cannot read (and, for text, empty texts).
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import re
from dataclasses import replace
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.data.load import Table, read_table
from mlvsdl.errors import ConfigError, DataError
from mlvsdl.types import ColumnKind, Modality, Schema

__all__ = [
    "AUDIO_SUFFIXES",
    "IMAGE_SUFFIXES",
    "ON_BAD_FILE",
    "check_inputs",
    "decode_audio",
    "decode_image",
    "media_column",
    "media_kind",
    "read_inputs",
    "to_image",
    "to_waveform",
]

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
AUDIO_SUFFIXES = (".wav", ".wave", ".flac", ".ogg")


def media_kind(sample: pd.Series) -> ColumnKind | None:
    """IMAGE or AUDIO when every sampled value is such a path or array, else None.

    Arrays: 1-D is a waveform (audio), 2-D or 3-D (H, W[, C]) is an image.
    """
    values = sample.dropna() if not sample.map(_is_array).any() else sample
    if values.empty:
        return None
    if values.map(_is_array).all():
        dims = {np.ndim(v) for v in values}
        if dims == {1}:
            return ColumnKind.AUDIO
        if dims <= {2, 3}:
            return ColumnKind.IMAGE
        return None
    if not values.map(lambda v: isinstance(v, str | PurePath)).all():
        return None
    suffixes = {PurePath(str(v).strip()).suffix.lower() for v in values}
    if suffixes <= set(IMAGE_SUFFIXES):
        return ColumnKind.IMAGE
    if suffixes <= set(AUDIO_SUFFIXES):
        return ColumnKind.AUDIO
    return None


def _is_array(value: object) -> bool:
    return isinstance(value, np.ndarray)


ON_BAD_FILE = ("skip", "fail")
MAX_IMAGE_SIDE = 64  # larger images are scaled down to this longer side (CPU-friendly)
MAX_SAMPLE_RATE = 16_000
MAX_DURATION_S = 10.0


def check_inputs(
    frame: pd.DataFrame, schema: Schema, on_bad_file: str = "skip"
) -> tuple[pd.DataFrame, Schema]:
    """Find unusable rows (empty text, unreadable files), skip or refuse them; decode media.

    For images and audio every file is decoded once, here: the cells become float32 arrays at
    the size (images) or sample rate and length (audio) recorded in ``schema.media``, which is
    chosen from the data when empty (training) and kept when set (prediction). Returns the
    frame without the bad rows and the schema with a note that counts and names them.

    Raises:
        ConfigError: ``on_bad_file`` is not ``skip`` or ``fail``.
        DataError: bad rows and ``on_bad_file="fail"``, or every row is bad.
    """
    if on_bad_file not in ON_BAD_FILE:
        raise ConfigError(f"--on-bad-file must be skip or fail, got {on_bad_file!r}.")
    decoded: pd.Series | None = None
    if schema.modality in (Modality.IMAGE, Modality.AUDIO):
        decoded, positions, labels, what = _decode_column(frame, schema)
    else:
        positions, labels, what = _bad_rows(frame, schema)
    if len(positions):
        shown = ", ".join(labels[:5]) + (", ..." if len(labels) > 5 else "")
        message = f"{len(positions)} of {len(frame)} rows have {what} ({shown})"
        if on_bad_file == "fail" or len(positions) == len(frame):
            raise DataError(f"{message}; fix or remove them, or pass --on-bad-file skip.")
        note = f"{message}; skipped them (--on-bad-file fail refuses such data)."
        logger.warning(note)
        schema = replace(schema, notes=(*schema.notes, note))
    keep = np.ones(len(frame), dtype=bool)
    keep[positions] = False
    if decoded is not None:
        frame = frame.copy()
        frame[decoded.name] = decoded
        schema = replace(schema, media=schema.media or _media_settings(decoded[keep], schema))
        frame[decoded.name] = _normalize(frame[decoded.name], keep, schema)
    frame = frame.loc[keep].reset_index(drop=True)
    return frame, replace(schema, n_rows=len(frame) if schema.n_rows else 0)


def _bad_rows(frame: pd.DataFrame, schema: Schema) -> tuple[np.ndarray, list[str], str]:
    """Positions of rows whose every text column is empty, with labels, for text data."""
    if schema.modality is not Modality.TEXT:
        return np.zeros(0, dtype=np.int64), [], ""
    columns = schema.of_kind(ColumnKind.TEXT)
    empty = np.ones(len(frame), dtype=bool)
    for name in columns:
        values = frame[name].astype("object").where(frame[name].notna(), "")
        empty &= values.astype(str).str.strip().eq("").to_numpy()
    positions = np.flatnonzero(empty)
    return positions, [f"row {i}" for i in positions], f"empty text in {columns}"


def media_column(schema: Schema) -> str:
    """The one image or audio column of a media schema."""
    kind = ColumnKind.IMAGE if schema.modality is Modality.IMAGE else ColumnKind.AUDIO
    columns = schema.of_kind(kind)
    if len(columns) != 1:
        raise DataError(
            f"{schema.modality} data needs exactly one {kind} column, found {len(columns)} "
            f"({columns}); keep one, or pass --modality tabular."
        )
    return columns[0]


def _decode_column(
    frame: pd.DataFrame, schema: Schema
) -> tuple[pd.Series, np.ndarray, list[str], str]:
    """Every cell of the media column decoded (None where it failed), and the failures."""
    name = media_column(schema)
    decode = decode_image if schema.modality is Modality.IMAGE else decode_audio
    values, bad, labels = [], [], []
    for i, cell in enumerate(frame[name].tolist()):
        try:
            values.append(decode(cell))
        except DataError as exc:
            values.append(None)
            bad.append(i)
            labels.append(str(exc))
    what = "unreadable or empty files" if schema.modality is Modality.IMAGE else "unreadable audio"
    decoded = pd.Series(values, index=frame.index, name=name, dtype=object)
    return decoded, np.asarray(bad, dtype=np.int64), labels, what


def _media_settings(decoded: pd.Series, schema: Schema) -> dict[str, Any]:
    """The common size (images) or sample rate and length (audio) the data is brought to."""
    if schema.modality is Modality.IMAGE:
        shapes = pd.Series([v.shape[:2] for v in decoded])
        height, width = shapes.mode().iloc[0]
        scale = min(1.0, MAX_IMAGE_SIDE / max(height, width))
        size = [max(1, round(height * scale)), max(1, round(width * scale))]
        channels = 3 if any(v.ndim == 3 for v in decoded) else 1
        return {"image_size": size, "channels": channels}
    rates = pd.Series([rate for _, rate in decoded if rate is not None])
    rate = int(min(rates.mode().iloc[0], MAX_SAMPLE_RATE)) if len(rates) else 16_000
    durations = [len(x) / (r or rate) for x, r in decoded]
    duration = float(np.clip(np.quantile(durations, 0.95), 0.1, MAX_DURATION_S))
    return {"sample_rate": rate, "duration_s": round(duration, 3)}


def _normalize(values: pd.Series, keep: np.ndarray, schema: Schema) -> pd.Series:
    if schema.modality is Modality.IMAGE:
        size, channels = tuple(schema.media["image_size"]), int(schema.media["channels"])
        out = [
            to_image(v, size, channels) if ok else None for v, ok in zip(values, keep, strict=True)
        ]
    else:
        rate, n = int(schema.media["sample_rate"]), audio_length(schema.media)
        out = [to_waveform(v, rate, n) if ok else None for v, ok in zip(values, keep, strict=True)]
    return pd.Series(out, index=values.index, dtype=object)


# --- decoding ---------------------------------------------------------------------------------


def decode_image(value: Any) -> np.ndarray:
    """An image as an array ``(H, W)`` (grayscale) or ``(H, W, 3)`` (RGB), from a path, an
    array, or a file's content as ``bytes`` (decoded in memory).

    Raises:
        DataError: the file is missing, not an image, or empty; the array has the wrong shape.
    """
    if isinstance(value, np.ndarray):
        array = value
        if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3, 4):
            array = np.moveaxis(array, 0, -1)  # (C, H, W) -> (H, W, C)
        if array.ndim == 3 and array.shape[-1] in (1, 4):
            array = array[..., 0] if array.shape[-1] == 1 else array[..., :3]
        if array.ndim not in (2, 3) or array.size == 0:
            raise DataError(f"array of shape {value.shape} is not an image")
        return array
    from PIL import Image, UnidentifiedImageError

    path, source = _source(value)
    try:
        with Image.open(source) as image:
            image.load()
            gray = image.mode in ("1", "L", "LA", "I", "I;16", "F")
            array = np.asarray(image.convert("L" if gray else "RGB"))
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise DataError(f"{path} ({type(exc).__name__})") from None
    if array.size == 0:
        raise DataError(f"{path} (empty image)")
    return array


def to_image(array: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    """``(C, H, W)`` float32 at ``size``: uint8 scaled to [0, 1], other values kept as given."""
    from PIL import Image

    image = array.astype(np.float32) / 255.0 if array.dtype == np.uint8 else array
    image = np.asarray(image, dtype=np.float32)
    planes = [image] if image.ndim == 2 else [image[..., c] for c in range(image.shape[-1])]
    if tuple(image.shape[:2]) != tuple(size):
        resample = Image.Resampling.BILINEAR
        planes = [
            np.asarray(Image.fromarray(p, mode="F").resize((size[1], size[0]), resample))
            for p in planes
        ]
    if channels == 1 and len(planes) == 3:
        planes = [0.299 * planes[0] + 0.587 * planes[1] + 0.114 * planes[2]]
    elif channels == 3 and len(planes) == 1:
        planes = planes * 3
    return np.stack(planes).astype(np.float32)


def decode_audio(value: Any) -> tuple[np.ndarray, int | None]:
    """Mono samples (float32) and their sample rate (None for an array), from a path, an array,
    or a file's content as ``bytes`` (decoded in memory).

    Raises:
        DataError: the file is missing, unreadable or empty; the array is not 1-D.
    """
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or value.size == 0:
            raise DataError(f"array of shape {value.shape} is not a mono waveform")
        return value.astype(np.float32), None
    import soundfile

    path, source = _source(value)
    try:
        samples, rate = soundfile.read(source, dtype="float32", always_2d=True)
    except (OSError, RuntimeError, ValueError, soundfile.LibsndfileError) as exc:
        raise DataError(f"{path} ({type(exc).__name__})") from None
    if samples.size == 0:
        raise DataError(f"{path} (no samples)")
    return samples.mean(axis=1), int(rate)


def _source(value: Any) -> tuple[Path | str, Path | io.BytesIO]:
    """What to name in errors, and what to read: a path, or ``bytes`` as an in-memory file."""
    if isinstance(value, bytes | bytearray | memoryview):
        return "<bytes>", io.BytesIO(bytes(value))
    path = Path(str(value))
    return path, path


def audio_length(media: dict[str, Any]) -> int:
    return max(1, round(float(media["sample_rate"]) * float(media["duration_s"])))


def to_waveform(value: tuple[np.ndarray, int | None] | np.ndarray, rate: int, n: int) -> np.ndarray:
    """Samples resampled to ``rate`` (polyphase), then cut or zero-padded to ``n``."""
    from scipy.signal import resample_poly

    samples, native = value if isinstance(value, tuple) else (value, None)
    if native is not None and native != rate:
        common = math.gcd(int(native), int(rate))
        samples = resample_poly(samples, rate // common, native // common).astype(np.float32)
    out = np.zeros(n, dtype=np.float32)
    out[: min(n, len(samples))] = samples[:n]
    return out


# --- reading folders, arrays and tables of paths ------------------------------------------------


def read_inputs(data: Any, *, label_from_name: str | None = None, **read_options: Any) -> Table:
    """A :class:`Table` from a table (file or DataFrame), a folder of media files, one media
    file, or ``(arrays, labels)``.

    A folder gives the columns ``image`` or ``audio`` (the paths) and ``label``: the name of
    each file's subfolder, or the part of its file name that ``label_from_name`` (a pattern such
    as ``"{label}_*.wav"``) marks. Paths in a table that are relative are read relative to the
    table's folder.
    """
    if isinstance(data, tuple) and len(data) == 2:
        return _table_from_arrays(*data)
    if isinstance(data, str | os.PathLike) and not isinstance(data, pd.DataFrame):
        path = Path(data).expanduser()
        if path.is_dir():
            return _table_from_folder(path, label_from_name)
        if path.suffix.lower() in (*IMAGE_SUFFIXES, *AUDIO_SUFFIXES):
            column = "image" if path.suffix.lower() in IMAGE_SUFFIXES else "audio"
            frame = pd.DataFrame({column: [str(path)]})
            return Table(frame, str(path), (), _files_fingerprint([path]))
        table = read_table(path, **read_options)
        return replace(table, frame=_resolve_paths(table.frame, path.parent))
    return read_table(data, **read_options)


def _table_from_arrays(inputs: Any, labels: Any) -> Table:
    arrays = list(inputs)
    if not arrays or not all(isinstance(a, np.ndarray) for a in arrays):
        raise DataError(
            "pass (arrays, labels): a numpy array per image or waveform and a label each."
        )
    column = "audio" if all(a.ndim == 1 for a in arrays) else "image"
    frame = pd.DataFrame({column: pd.Series(arrays, dtype=object), "label": np.asarray(labels)})
    digest = hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays))
    digest.update(np.asarray(labels).astype(str).tobytes())
    return Table(frame, f"<{len(arrays)} arrays>", (), digest.hexdigest())


def _table_from_folder(folder: Path, label_from_name: str | None) -> Table:
    suffixes = (*IMAGE_SUFFIXES, *AUDIO_SUFFIXES)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise DataError(
            f"{folder} holds no image or audio files (looked for {', '.join(suffixes)}); pass a "
            "folder with one subfolder of files per class, or a table of paths."
        )
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    column = "image" if len(images) >= len(files) / 2 else "audio"
    files = images if column == "image" else [p for p in files if p not in set(images)]
    frame = pd.DataFrame({column: [str(p) for p in files]})
    labels = _labels(files, folder, label_from_name)
    if labels is not None:
        frame["label"] = labels
    return Table(frame, str(folder), (), _files_fingerprint(files))


def _labels(files: list[Path], folder: Path, pattern: str | None) -> list[str] | None:
    if pattern is not None:
        regex = re.compile(
            "^"
            + re.escape(pattern)
            .replace(r"\{label\}", "(?P<label>.+?)")
            .replace(r"\*", ".*")
            .replace(r"\?", ".")
            + "$"
        )
        if "(?P<label>" not in regex.pattern:
            raise ConfigError(f"--label-from-name {pattern!r} must contain {{label}}.")
        matches = [regex.match(p.name) for p in files]
        missed = [p.name for p, m in zip(files, matches, strict=True) if m is None]
        if missed:
            raise DataError(
                f"{len(missed)} file names do not match --label-from-name {pattern!r} (e.g. "
                f"{missed[0]}); fix the pattern, e.g. '{{label}}_*.wav'."
            )
        return [m.group("label") for m in matches if m is not None]
    parts = [p.relative_to(folder).parts for p in files]
    if all(len(part) == 1 for part in parts):
        return None  # no class folders: files to predict
    return [part[0] if len(part) > 1 else "" for part in parts]


def _files_fingerprint(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0".encode())
    return digest.hexdigest()


def _resolve_paths(frame: pd.DataFrame, base: Path) -> pd.DataFrame:
    """Relative media paths in a table, made relative to the table's folder when they exist."""
    for name in frame.columns:
        values = frame[name].dropna()
        if values.empty or media_kind(values.head(50)) is None or values.map(_is_array).any():
            continue
        frame[name] = frame[name].map(
            lambda v: (
                str(base / v)
                if isinstance(v, str)
                and not Path(v).is_absolute()
                and not Path(v).exists()
                and (base / v).exists()
                else v
            )
        )
    return frame

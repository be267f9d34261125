"""Image and audio inputs for the server: uploaded files, or their content as base64 in JSON.

A run whose modality is image or audio has one media column (``image`` for a folder of images,
``audio`` for a folder of sounds, or the path column of the training table). A request carries
each file's *content*, never a path (the server reads no files of its own):

* ``multipart/form-data``: one part per file, named after the media column or ``file``; every
  file is one record. Text parts named after other input columns apply to every file.
* JSON: the media field of a record is an object ``{"base64": "<the file's bytes>"}``
  (standard base64; line breaks and a ``data:...;base64,`` prefix are allowed).

Each file is decoded in memory (Pillow, soundfile; nothing is written to disk) and brought to the
size or sample rate and length recorded in the run's schema, exactly as ``mlvsdl predict`` does,
so the model receives what it was trained on. Anything that cannot be decoded raises a
``ValueError`` whose message says what was expected, without echoing internals.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlvsdl.data.media import (
    AUDIO_SUFFIXES,
    IMAGE_SUFFIXES,
    audio_length,
    decode_audio,
    decode_image,
    to_image,
    to_waveform,
)
from mlvsdl.errors import DataError
from mlvsdl.types import ColumnKind

__all__ = [
    "DEFAULT_FILE_FIELD",
    "MAX_AUDIO_SAMPLES",
    "MAX_FILES",
    "MAX_IMAGE_PIXELS",
    "MEDIA_KINDS",
    "PIL_FORMATS",
    "Upload",
    "decode_media",
    "file_description",
]

logger = logging.getLogger(__name__)

MEDIA_KINDS = (ColumnKind.IMAGE, ColumnKind.AUDIO)
DEFAULT_FILE_FIELD = "file"  # multipart field name accepted besides the media column's name
MAX_FILES = 256  # files per multipart request (the body-size limit applies as well)
MAX_IMAGE_PIXELS = 40_000_000  # width x height read from the header before decoding
MAX_AUDIO_SAMPLES = 50_000_000  # frames x channels (a compressed file can expand a lot)
PIL_FORMATS = ("PNG", "JPEG", "MPO", "BMP", "GIF", "TIFF", "WEBP")  # what IMAGE_SUFFIXES name
_FORMATS = {
    ColumnKind.IMAGE: ("PNG, JPEG, BMP, GIF, TIFF or WebP", IMAGE_SUFFIXES, "image/*"),
    ColumnKind.AUDIO: ("WAV, FLAC or OGG", AUDIO_SUFFIXES, "audio/*"),
}


@dataclass(frozen=True)
class Upload:
    """One file of a multipart request: its name as the client gave it, and its bytes."""

    filename: str
    content: bytes


def file_description(kind: ColumnKind, column: str, media: dict[str, Any]) -> dict[str, Any]:
    """What GET /schema says about a media field: formats, how to send it, what it becomes."""
    names, suffixes, mime = _FORMATS[kind]
    out: dict[str, Any] = {
        "formats": list(suffixes),
        "accept": ",".join((mime, *suffixes)),
        "multipart_fields": [column, DEFAULT_FILE_FIELD]
        if column != DEFAULT_FILE_FIELD
        else [column],
        "json": {"base64": f"<the {kind} file's bytes, base64-encoded>"},
        "max_files": MAX_FILES,
        "brought_to": dict(media),
        "description": f"a {names} file; sent as a multipart upload or base64 in JSON, it is "
        "decoded in memory and brought to the size the model was trained on.",
    }
    if kind is ColumnKind.IMAGE:
        out["max_pixels"] = MAX_IMAGE_PIXELS
    else:
        out["max_samples"] = MAX_AUDIO_SAMPLES
    return out


def decode_media(kind: ColumnKind, media: dict[str, Any], value: Any) -> np.ndarray:
    """A request's media value (an :class:`Upload` or ``{"base64": ...}``) as the model's array.

    Images become float32 ``(C, H, W)`` at ``media["image_size"]``; sounds float32 samples at
    ``media["sample_rate"]``, cut or padded to ``media["duration_s"]``.

    Raises:
        ValueError: the value is missing, of the wrong type, not base64, empty, too large, or
            not a readable file of this kind (the message names the uploaded file, if any).
    """
    name = ""
    if isinstance(value, Upload):
        name, content = _shown_name(value.filename), value.content
    else:
        content = _content(kind, value)
    try:
        if not content:
            raise ValueError("the file is empty")
        if kind is ColumnKind.IMAGE:
            return _image(content, media)
        return _audio(content, media)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}" if name else str(exc)) from None


def _content(kind: ColumnKind, value: Any) -> bytes:
    """The bytes of a JSON value ``{"base64": "..."}``."""
    expected = f'expected the {kind} file as {{"base64": "<its bytes, base64-encoded>"}}'
    if value is None:
        raise ValueError(f"missing: this model needs an {kind} file; {expected}")
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        raise ValueError(f"{expected}, got text (the server does not read files by path)")
    if not isinstance(value, dict):
        raise ValueError(f"{expected}, got {_kind_of(value)}")
    extra = sorted(str(key)[:40] for key in value if key != "base64")
    if extra:
        raise ValueError(f"{expected}; unknown key(s) {', '.join(map(repr, extra[:5]))}")
    text = value.get("base64")
    if not isinstance(text, str):
        raise ValueError(f"{expected}; 'base64' must be text, got {_kind_of(text)}")
    if text.startswith("data:"):  # a data URL, as browsers' FileReader gives
        head, _, text = text.partition(",")
        if not head.endswith(";base64"):
            raise ValueError("a data URL must be base64-encoded (data:<type>;base64,...)")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "'base64' is not valid base64 (standard alphabet A-Z a-z 0-9 + /, '=' padding)"
        ) from None


def _image(content: bytes, media: dict[str, Any]) -> np.ndarray:
    from PIL import Image

    readable = f"not a readable image ({_FORMATS[ColumnKind.IMAGE][0]})"
    try:
        # Only these decoders: no plugin that shells out (EPS) or is rarely exercised.
        with Image.open(io.BytesIO(content), formats=PIL_FORMATS) as image:  # the header only
            width, height = image.size
    except Exception:  # any decoder failure is the client's bad file
        raise ValueError(readable) from None
    if width * height > MAX_IMAGE_PIXELS:
        raise ValueError(
            f"the image is {width} x {height} pixels, more than the {MAX_IMAGE_PIXELS:,} this "
            "server decodes; scale it down first"
        )
    try:
        array = decode_image(content)
        size = tuple(int(v) for v in media["image_size"])
        return to_image(array, (size[0], size[1]), int(media["channels"]))
    except DataError:
        raise ValueError(readable) from None
    except Exception:  # a decoder bug must not become a 500 with internals
        logger.warning("an uploaded image could not be decoded", exc_info=True)
        raise ValueError(readable) from None


def _audio(content: bytes, media: dict[str, Any]) -> np.ndarray:
    import soundfile

    readable = f"not readable audio ({_FORMATS[ColumnKind.AUDIO][0]})"
    try:
        info = soundfile.info(io.BytesIO(content))
    except Exception:  # any decoder failure is the client's bad file
        raise ValueError(readable) from None
    if info.frames * info.channels > MAX_AUDIO_SAMPLES:
        raise ValueError(
            f"the sound has {info.frames * info.channels:,} samples, more than the "
            f"{MAX_AUDIO_SAMPLES:,} this server decodes; send a shorter clip"
        )
    try:
        decoded = decode_audio(content)
        return to_waveform(decoded, int(media["sample_rate"]), audio_length(media))
    except DataError:
        raise ValueError(readable) from None
    except Exception:  # a decoder bug must not become a 500 with internals
        logger.warning("an uploaded sound could not be decoded", exc_info=True)
        raise ValueError(readable) from None


def _shown_name(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1] or "(unnamed file)"
    name = "".join(c if c.isprintable() else "?" for c in name)
    return name if len(name) <= 60 else name[:57] + "..."


def _kind_of(value: Any) -> str:
    names = {bool: "a boolean", dict: "an object", list: "an array", str: "text"}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), f"a {type(value).__name__}")

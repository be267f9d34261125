"""Media inputs: detection, folders, label patterns, bad files, decoding, modality choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile
from PIL import Image

from mlvsdl.data import infer_schema
from mlvsdl.data.media import (
    check_inputs,
    decode_image,
    media_kind,
    read_inputs,
    to_image,
    to_waveform,
)
from mlvsdl.data.schema import resolve_modality
from mlvsdl.errors import ConfigError, DataError
from mlvsdl.types import ColumnKind, Modality


def test_media_kind_from_paths_and_arrays():
    assert media_kind(pd.Series(["a/x.png", "b/y.JPG"])) is ColumnKind.IMAGE
    assert media_kind(pd.Series(["x.wav", "y.flac"])) is ColumnKind.AUDIO
    assert media_kind(pd.Series([np.zeros((4, 4)), np.zeros((4, 4, 3))])) is ColumnKind.IMAGE
    assert media_kind(pd.Series([np.zeros(10), np.zeros(5)])) is ColumnKind.AUDIO
    assert media_kind(pd.Series(["x.png", "notes about it"])) is None


def _image_folder(root, n=4):
    """Two class folders of 10 x 12 images, grayscale and RGB, plus one corrupt file."""
    for label, value in (("dark", 30), ("light", 220)):
        (root / label).mkdir(parents=True)
        for i in range(n):
            mode = "L" if i % 2 else "RGB"
            colour = value if mode == "L" else (value, value, value)
            Image.new(mode, (12, 10), colour).save(root / label / f"{i}.png")
    (root / "light" / "broken.png").write_bytes(b"\x89PNG not really")


def test_folder_of_class_subfolders_reads_decodes_and_skips_bad_files(tmp_path):
    _image_folder(tmp_path)
    table = read_inputs(tmp_path)
    assert list(table.frame.columns) == ["image", "label"]
    frame, schema = infer_schema(table.frame, "label")
    assert schema.modality is Modality.IMAGE
    frame, schema = check_inputs(frame, schema, "skip")
    assert len(frame) == 8 and schema.n_rows == 8
    assert schema.media == {"image_size": [10, 12], "channels": 3}
    assert frame["image"][0].shape == (3, 10, 12) and frame["image"][0].dtype == np.float32
    assert "1 of 9 rows have unreadable" in schema.notes[-1] and "broken.png" in schema.notes[-1]
    with pytest.raises(DataError, match=r"broken\.png.*--on-bad-file skip"):
        check_inputs(*infer_schema(read_inputs(tmp_path).frame, "label"), "fail")


def test_label_from_file_name_pattern(tmp_path):
    for name in ("3_jackson_0.wav", "7_theo_12.wav", "3_nicolas_4.wav"):
        soundfile.write(tmp_path / name, np.zeros(800, dtype=np.float32), 8000)
    frame = read_inputs(tmp_path, label_from_name="{label}_*.wav").frame
    assert frame["label"].tolist() == ["3", "3", "7"]
    with pytest.raises(ConfigError, match=r"\{label\}"):
        read_inputs(tmp_path, label_from_name="*.wav")
    with pytest.raises(DataError, match="do not match"):
        read_inputs(tmp_path, label_from_name="{label}-*.wav")


def test_table_of_relative_paths_is_read_from_its_folder(tmp_path):
    _image_folder(tmp_path / "imgs")
    rows = [{"file": f"imgs/dark/{i}.png", "y": "a" if i < 2 else "b"} for i in range(4)]
    pd.DataFrame(rows).to_csv(tmp_path / "index.csv", index=False)
    frame = read_inputs(tmp_path / "index.csv").frame
    assert frame["file"].map(lambda p: (tmp_path / "imgs").as_posix() in p).all()
    assert infer_schema(frame, "y")[1].modality is Modality.IMAGE


def test_images_resize_convert_channels_and_accept_channels_first():
    rgb = np.zeros((20, 30, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    gray = to_image(rgb, (10, 15), channels=1)
    assert gray.shape == (1, 10, 15) and gray.max() == pytest.approx(0.299, abs=1e-3)
    assert to_image(np.ones((8, 8), np.float32), (8, 8), channels=3).shape == (3, 8, 8)
    assert decode_image(np.zeros((3, 5, 6))).shape == (5, 6, 3)
    with pytest.raises(DataError):
        decode_image(np.zeros(5))


def test_waveforms_are_resampled_and_fitted_to_length():
    rate = 16_000
    tone = np.sin(2 * np.pi * 500 * np.arange(rate) / rate).astype(np.float32)
    out = to_waveform((tone, rate), 8000, 4000)  # 1 s at 16 kHz -> 0.5 s at 8 kHz
    assert out.shape == (4000,)
    peak_hz = np.argmax(np.abs(np.fft.rfft(out))) * 8000 / 4000
    assert peak_hz == pytest.approx(500, abs=2)
    assert to_waveform(tone[:100], 16_000, 300)[100:].max() == 0


def test_empty_texts_are_skipped_or_refused():
    texts = [f"a long enough sentence number {i}" for i in range(30)]
    frame = pd.DataFrame({"text": texts, "y": ["a", "b"] * 15})
    frame.loc[[3, 7], "text"] = ["  ", None]
    frame, schema = infer_schema(frame, "y")
    kept, noted = check_inputs(frame, schema, "skip")
    assert len(kept) == 28 and "2 of 30 rows have empty text" in noted.notes[-1]
    with pytest.raises(DataError, match="empty text"):
        check_inputs(frame, schema, "fail")
    with pytest.raises(ConfigError, match="skip or fail"):
        check_inputs(frame, schema, "ignore")


def test_modality_is_inferred_and_can_be_overridden():
    frame = pd.DataFrame(
        {"text": [f"this is message number {i} of many" for i in range(40)], "n": range(40)}
    )
    frame["n"] = np.random.default_rng(0).normal(size=40)
    frame["y"] = ["a", "b"] * 20
    assert infer_schema(frame, "y")[1].modality is Modality.TEXT
    assert infer_schema(frame, "y", modality="tabular")[1].modality is Modality.TABULAR
    columns = list(infer_schema(frame, "y")[1].columns)
    with pytest.raises(ConfigError, match="needs a column of kind image"):
        resolve_modality(columns, "image")
    with pytest.raises(ConfigError, match="unknown modality"):
        resolve_modality(columns, "video")


def test_check_inputs_keeps_rows_aligned_with_any_index(tmp_path):
    _image_folder(tmp_path)
    frame = read_inputs(tmp_path).frame.iloc[::-1]  # index 8, 7, ..., 0: not 0..n-1
    frame.index = frame.index + 100
    frame, schema = infer_schema(frame, "label")
    checked, _ = check_inputs(frame, schema)
    assert checked["image"].map(lambda a: isinstance(a, np.ndarray)).all()
    assert checked["label"].tolist() == ["light"] * 4 + ["dark"] * 4

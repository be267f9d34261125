"""Audio families on synthesized tones: features, the contract, a folder end to end."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from sklearn.base import clone

from mlvsdl import compare
from mlvsdl.data import infer_schema
from mlvsdl.data.media import check_inputs, read_inputs
from mlvsdl.families.registry import all_families
from mlvsdl.features.audio import MFCCStats, log_mel, mel_filterbank
from mlvsdl.store.artifacts import load_estimator, save_estimator
from mlvsdl.types import Kind, Modality, Task

RATE = 8000
AUDIO = [f for f in all_families() if Modality.AUDIO in f.modalities and f.key != "dummy"]
CASES = [(f, t) for f in AUDIO for t in (Task.BINARY, Task.REGRESSION) if t in f.tasks]
PITCH = {"low": 300.0, "mid": 700.0, "high": 1500.0}


def tone(f0: float, rng: np.random.Generator, seconds: float = 0.4) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    wave = 0.5 * np.sin(2 * np.pi * f0 * (1 + 0.03 * rng.normal()) * t)
    return (wave + 0.02 * rng.normal(size=t.size)).astype(np.float32)


def tones(task: Task, n: int = 40):
    rng = np.random.default_rng(0)
    names = ["low", "high"] if task is Task.BINARY else list(PITCH)
    labels = [names[i % len(names)] for i in range(n)]
    waves = [tone(PITCH[label], rng, rng.uniform(0.3, 0.5)) for label in labels]
    target = [PITCH[label] for label in labels] if task is Task.REGRESSION else labels
    frame, schema = infer_schema(read_inputs((waves, target)).frame, "label", str(task))
    frame, schema = check_inputs(frame, schema)
    return frame.drop(columns="label"), frame["label"].to_numpy(), schema


def test_log_mel_peaks_in_the_band_of_a_pure_tone():
    wave = np.sin(2 * np.pi * 1000 * np.arange(RATE) / RATE)[None].astype(np.float32)
    spectrum = log_mel(wave, RATE, n_mels=40)
    assert spectrum.shape == (1, 40, 101)  # 10 ms hops over 1 s, centred frames
    filters = mel_filterbank(RATE, 256, 40)
    bin_1khz = 1000 * 256 // RATE
    assert spectrum[0, :, 50].argmax() == filters[:, bin_1khz].argmax()


def test_log_mel_matches_librosa():
    librosa = pytest.importorskip("librosa")
    wave = np.random.default_rng(0).normal(size=(2, 3000)).astype(np.float32)
    reference = librosa.power_to_db(
        librosa.feature.melspectrogram(
            y=wave, sr=RATE, n_fft=256, hop_length=80, n_mels=40, htk=True, pad_mode="constant"
        ),
        ref=1.0,
        top_db=80.0,
    )
    np.testing.assert_allclose(log_mel(wave, RATE, 40), reference, atol=1e-3)


def test_mfcc_statistics_shape_and_separation():
    rng = np.random.default_rng(1)
    waves = np.stack([tone(300, rng), tone(300, rng), tone(1500, rng)])
    stats = MFCCStats(sample_rate=RATE).fit(waves).transform(waves)
    assert stats.shape == (3, 160) and np.isfinite(stats).all()
    assert np.linalg.norm(stats[0] - stats[1]) < np.linalg.norm(stats[0] - stats[2])


def test_audio_families_cover_ml_and_dl():
    assert {"mfcc_logreg", "mfcc_svm", "mfcc_lgbm", "audio_cnn"} <= {f.key for f in AUDIO}
    assert {f.kind for f in AUDIO} == {Kind.ML, Kind.DL}


@pytest.mark.parametrize(("family", "task"), CASES, ids=[f"{f.key}-{t}" for f, t in CASES])
def test_audio_family_contract(family, task, tmp_path):
    X, y, schema = tones(task)
    estimator = family.build(schema, random_state=0)
    if "model__max_epochs" in estimator.get_params():
        estimator.set_params(model__max_epochs=2)
    if "model__n_estimators" in estimator.get_params():
        estimator.set_params(model__n_estimators=20, model__min_child_samples=3)
    pred = estimator.fit(X, y).predict(X)
    assert pred.shape == (len(X),)
    if task.is_classification:
        np.testing.assert_allclose(estimator.predict_proba(X).sum(axis=1), 1.0, rtol=1e-5)
        if family.kind is Kind.ML:
            assert (pred == y).mean() > 0.9
    np.testing.assert_array_equal(clone(estimator).fit(X, y).predict(X), pred)
    sha = save_estimator(estimator, tmp_path / "m.skops", {})
    np.testing.assert_array_equal(load_estimator(tmp_path / "m.skops", sha).predict(X), pred)


def test_folder_with_labels_in_file_names_end_to_end(tmp_path):
    rng = np.random.default_rng(2)
    (tmp_path / "clips").mkdir()
    for i in range(24):
        label = ["low", "high"][i % 2]
        soundfile.write(tmp_path / "clips" / f"{label}_{i}.wav", tone(PITCH[label], rng), RATE)
    (tmp_path / "clips" / "low_99.wav").write_bytes(b"RIFF....WAVEnot audio")
    new = tmp_path / "new.wav"
    wave_16k = 0.5 * np.sin(2 * np.pi * 1500 * np.arange(6400) / 16_000)
    wave_16k += 0.02 * rng.normal(size=wave_16k.size)  # the noise floor of the training clips
    soundfile.write(new, wave_16k.astype(np.float32), 16_000)  # another sample rate
    result = compare(
        tmp_path / "clips",
        label_from_name="{label}_*.wav",
        families=["dummy", "mfcc_svm"],
        cv=2,
        time_budget=None,
        store=tmp_path / "store",
    )
    assert result.schema.media["sample_rate"] == RATE
    assert any("low_99.wav" in note for note in result.schema.notes)
    assert result.predict(new)["prediction"].tolist() == ["high"]

"""Audio features: waveforms at the run's rate and length, log-mel spectrograms, MFCC statistics.

:class:`Waveforms` turns the audio column of a frame (paths or arrays; ``check_inputs`` has
usually decoded them already) into float32 ``(n, samples)`` at the sample rate and duration in
``schema.media`` (resampled with a polyphase filter, then cut or zero-padded). Then

* networks get :class:`LogMel`: log-mel spectrograms ``(n, 1, n_mels, frames)`` (25 ms
  Hann windows, 10 ms hops, 40 mel bands);
* classical models get :class:`MFCCStats`: 20 MFCCs (DCT-II of the log-mel bands) and their
  deltas, each summarized over time by mean, standard deviation, minimum and maximum (160
  numbers per clip).

The spectrograms are computed here with NumPy and SciPy, batched over clips. librosa gives the
same values (the tests compare them when it is installed), but its first call in a process
spends 5-10 s compiling with numba, which a short comparison cannot afford.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from mlvsdl.data.media import audio_length, decode_audio, media_column, to_waveform
from mlvsdl.errors import SchemaMismatchError
from mlvsdl.types import Schema

__all__ = ["LogMel", "MFCCStats", "Waveforms", "log_mel", "mel_filterbank", "waveforms"]


class Waveforms(TransformerMixin, BaseEstimator):
    """The ``column`` of a frame as float32 ``(n, n_samples)`` at ``sample_rate``."""

    def __init__(self, column: str = "audio", sample_rate: int = 16_000, n_samples: int = 16_000):
        self.column = column
        self.sample_rate = sample_rate
        self.n_samples = n_samples

    def fit(self, X: pd.DataFrame, y: Any = None) -> Waveforms:
        self.transform(X.iloc[:1])
        self.n_features_in_ = 1
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        if not isinstance(X, pd.DataFrame) or self.column not in X.columns:
            raise SchemaMismatchError(
                f"expected a frame with the audio column {self.column!r}; pass a folder, files "
                "or a table of WAV paths like the ones the run was trained on."
            )
        rows = [self._one(v) for v in X[self.column].tolist()]
        return np.stack(rows) if rows else np.zeros((0, self.n_samples), dtype=np.float32)

    def _one(self, value: Any) -> np.ndarray:
        if isinstance(value, np.ndarray) and value.shape == (self.n_samples,):
            return value.astype(np.float32, copy=False)  # decoded by check_inputs already
        return to_waveform(decode_audio(value), int(self.sample_rate), int(self.n_samples))


def waveforms(schema: Schema) -> Waveforms:
    rate = int(schema.media.get("sample_rate", 16_000))
    media = {"sample_rate": rate, "duration_s": schema.media.get("duration_s", 1.0)}
    return Waveforms(media_column(schema), rate, audio_length(media))


TOP_DB = 80.0


def _frame_sizes(sample_rate: int) -> tuple[int, int]:
    """FFT size (>= 25 ms, a power of two) and hop (10 ms) in samples."""
    n_fft = 1 << int(np.ceil(np.log2(0.025 * sample_rate)))
    return n_fft, max(1, round(0.010 * sample_rate))


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular filters ``(n_mels, n_fft // 2 + 1)`` evenly spaced on the HTK mel scale,
    each normalized to unit area (Slaney), from 0 Hz to the Nyquist frequency."""
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(sample_rate / 2), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    lower = (bins[None, :] - edges[:-2, None]) / np.diff(edges)[:-1, None]
    upper = (edges[2:, None] - bins[None, :]) / np.diff(edges)[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    return (weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]).astype(np.float32)


def log_mel(waves: np.ndarray, sample_rate: int, n_mels: int = 40) -> np.ndarray:
    """Log-mel power spectrograms in decibels, ``(n, n_mels, frames)``: centred Hann-window
    frames (zero-padded at the ends), power spectrum, mel filters, ``10 log10(x)`` floored at
    ``TOP_DB`` below each clip's loudest value (as librosa's ``power_to_db(top_db=80)``), so
    the zero padding of short clips reads as quiet, not as minus infinity."""
    n_fft, hop = _frame_sizes(sample_rate)
    waves = np.asarray(waves, dtype=np.float32)
    padded = np.pad(waves, ((0, 0), (n_fft // 2, n_fft // 2)))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=1)[:, ::hop]
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)  # periodic Hann
    power = np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2  # (n, frames, bins)
    mel = power.astype(np.float32) @ mel_filterbank(sample_rate, n_fft, n_mels).T
    db = 10.0 * np.log10(np.maximum(mel, 1e-10))  # (n, frames, n_mels)
    db = np.maximum(db, db.max(axis=(1, 2), keepdims=True) - TOP_DB)  # silence floor per clip
    return db.transpose(0, 2, 1).astype(np.float32)


class LogMel(TransformerMixin, BaseEstimator):
    """Log-mel spectrograms ``(n, 1, n_mels, frames)`` in decibels."""

    def __init__(self, sample_rate: int = 16_000, n_mels: int = 40) -> None:
        self.sample_rate = sample_rate
        self.n_mels = n_mels

    def fit(self, X: np.ndarray, y: Any = None) -> LogMel:
        self.n_features_in_ = int(np.shape(X)[1])
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return log_mel(X, int(self.sample_rate), int(self.n_mels))[:, None]


class MFCCStats(TransformerMixin, BaseEstimator):
    """MFCCs and deltas summarized over time: mean, std, min, max of each (8 x ``n_mfcc``)."""

    def __init__(self, sample_rate: int = 16_000, n_mfcc: int = 20, n_mels: int = 40) -> None:
        self.sample_rate = sample_rate
        self.n_mfcc = n_mfcc
        self.n_mels = n_mels

    def fit(self, X: np.ndarray, y: Any = None) -> MFCCStats:
        self.n_features_in_ = int(np.shape(X)[1])
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        from scipy.fft import dct

        spectrum = log_mel(X, int(self.sample_rate), int(self.n_mels))  # (n, n_mels, frames)
        mfcc = dct(spectrum, type=2, norm="ortho", axis=1)[:, : int(self.n_mfcc)]
        delta = np.gradient(mfcc, axis=-1) if mfcc.shape[-1] > 1 else np.zeros_like(mfcc)
        parts = [f(m, axis=-1) for m in (mfcc, delta) for f in (np.mean, np.std, np.min, np.max)]
        return np.concatenate(parts, axis=1).astype(np.float32)

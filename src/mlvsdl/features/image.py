"""Image features: pixel arrays at the run's size, flattened pixels, HOG descriptors.

:class:`ImageArrays` turns the image column of a frame (paths or arrays; ``check_inputs`` has
usually decoded them already) into one float32 array ``(n, C, H, W)`` at the size and channel
count recorded in ``schema.media``. Classical models then see flattened pixels (optionally
reduced by PCA) and HOG descriptors (Dalal & Triggs 2005, via scikit-image); networks see the
array itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler

from mlvsdl.data.media import decode_image, media_column, to_image
from mlvsdl.errors import SchemaMismatchError
from mlvsdl.types import Schema

__all__ = ["HOG", "CappedPCA", "Flatten", "ImageArrays", "image_arrays", "image_features"]


class ImageArrays(TransformerMixin, BaseEstimator):
    """The ``column`` of a frame as float32 ``(n, C, H, W)`` at ``size`` with ``channels``."""

    def __init__(
        self, column: str = "image", size: tuple[int, int] = (28, 28), channels: int = 1
    ) -> None:
        self.column = column
        self.size = size
        self.channels = channels

    def fit(self, X: pd.DataFrame, y: Any = None) -> ImageArrays:
        self.transform(X.iloc[:1])
        self.n_features_in_ = 1
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        if not isinstance(X, pd.DataFrame) or self.column not in X.columns:
            raise SchemaMismatchError(
                f"expected a frame with the image column {self.column!r}; pass a folder, files "
                "or a table of image paths like the ones the run was trained on."
            )
        shape = (int(self.channels), *map(int, self.size))
        arrays = [self._one(v, shape) for v in X[self.column].tolist()]
        return np.stack(arrays) if arrays else np.zeros((0, *shape), dtype=np.float32)

    def _one(self, value: Any, shape: tuple[int, ...]) -> np.ndarray:
        if isinstance(value, np.ndarray) and value.shape == shape and value.dtype == np.float32:
            return value  # decoded by check_inputs already
        return to_image(decode_image(value), shape[1:], shape[0])


def image_arrays(schema: Schema) -> ImageArrays:
    size = tuple(schema.media.get("image_size", (28, 28)))
    return ImageArrays(media_column(schema), size, int(schema.media.get("channels", 1)))


class Flatten(TransformerMixin, BaseEstimator):
    """``(n, ...)`` -> ``(n, prod(...))``."""

    def fit(self, X: np.ndarray, y: Any = None) -> Flatten:
        self.n_features_in_ = int(np.prod(np.shape(X)[1:]))
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X).reshape(len(X), -1)


class HOG(TransformerMixin, BaseEstimator):
    """Histograms of oriented gradients of each image (its channels averaged).

    Cells are a quarter of the shorter side (at least 4 pixels); blocks of 2 x 2 cells are
    L2-Hys normalized, as in Dalal & Triggs.
    """

    def __init__(self, orientations: int = 9) -> None:
        self.orientations = orientations

    def fit(self, X: np.ndarray, y: Any = None) -> HOG:
        self.n_features_in_ = int(np.prod(np.shape(X)[1:]))
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        from skimage.feature import hog

        gray = np.asarray(X, dtype=np.float32).mean(axis=1)  # (n, H, W)
        cell = max(4, min(gray.shape[1:]) // 4)
        features = [
            hog(
                image,
                orientations=self.orientations,
                pixels_per_cell=(cell, cell),
                cells_per_block=(2, 2),
                block_norm="L2-Hys",
                feature_vector=True,
            )
            for image in gray
        ]
        return np.asarray(features, dtype=np.float32).reshape(len(gray), -1)


class CappedPCA(TransformerMixin, BaseEstimator):
    """PCA to ``n_components``, or fewer when the data has fewer rows or columns."""

    def __init__(self, n_components: int = 50, random_state: int | None = 0) -> None:
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: Any = None) -> CappedPCA:
        k = max(1, min(self.n_components, X.shape[0] - 1, X.shape[1]))
        self.pca_ = PCA(n_components=k, random_state=self.random_state).fit(X)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return self.pca_.transform(X)


def image_features(schema: Schema, *, pca_components: int | None = None) -> Pipeline:
    """Pixels (PCA-reduced when ``pca_components``) beside HOG, then standardized."""
    pixels: list[tuple[str, Any]] = [("flatten", Flatten())]
    if pca_components is not None:
        pixels.append(("pca", CappedPCA(n_components=pca_components)))
    union = FeatureUnion([("pixels", Pipeline(pixels)), ("hog", HOG())])
    return Pipeline([("load", image_arrays(schema)), ("union", union), ("scale", StandardScaler())])

"""Saliency maps for image models: how much each pixel moved one prediction.

==========================  ====================================================  ============
model                       method                                                unit
==========================  ====================================================  ============
networks (``image_cnn``,    integrated gradients (captum) on the input pixels,    probability
``image_resnet``)           from the mean image                                   / target
                                                                                  units
anything else (pixels +     occlusion (captum ``Occlusion``): square patches      probability
HOG models)                 (a sixth of the side, half-overlapping) replaced by   / target
                            the mean image there; each pixel gets the mean drop   units
                            of the patches covering it
==========================  ====================================================  ============

The reference is the same for both: the mean image (pixel by pixel) of the data's images, the
counterpart of a table's typical row. A pixel that is the same in every image therefore gets no
weight, while a blank pixel where other images have ink (the hole of a zero) can. A uniform
grey reference would instead draw artificial edges that HOG-based models react to. Classifiers
explain the predicted class's probability; regressors the prediction. The map is summed over
channels: ``(H, W)``, signed (positive: that part of the image pushed the explained output up).
Its 3 x 3 regions with the largest total weight summarize it.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.data.media import media_column
from mlvsdl.explain._common import display_value, explained_output, final_step, target_of
from mlvsdl.explain.explanation import Contribution, Explanation, ImageView
from mlvsdl.features.image import image_arrays
from mlvsdl.types import Schema

__all__ = ["explain_image_row", "image_png", "mean_image", "regions", "saliency_map"]

IG_STEPS = 32
FILL_ROWS = 256
ROWS, COLS = ("top", "middle", "bottom"), ("left", "centre", "right")


def mean_image(frame: pd.DataFrame, schema: Schema, *, max_rows: int = FILL_ROWS) -> np.ndarray:
    """The mean ``(C, H, W)`` image of (a seeded sample of) the images of ``frame``."""
    rows = np.arange(len(frame))
    if len(rows) > max_rows:
        rows = np.sort(np.random.default_rng(0).choice(rows, max_rows, replace=False))
    return image_arrays(schema).transform(frame.iloc[rows]).mean(axis=0)


def _is_convnet(model: Any) -> bool:
    return hasattr(model, "module_") and hasattr(model, "channel_mean_")


def _window(height: int, width: int) -> tuple[int, int]:
    """Occlusion patch side and stride: a sixth of the shorter side (at least 2), half-overlap."""
    side = max(2, min(height, width) // 6)
    return side, max(1, side // 2)


def saliency_map(
    estimator: Any, row: pd.DataFrame, schema: Schema, fill: Any = None
) -> tuple[np.ndarray, np.ndarray, str, str, str]:
    """(saliency ``(C, H, W)``, the input ``(C, H, W)``, method, unit, explained output).

    ``fill``: the reference image ``(C, H, W)`` (or a colour per channel); default: a uniform
    image of the row's own mean colour.
    """
    x = image_arrays(schema).transform(row.iloc[:1])  # (1, C, H, W)
    if fill is None:
        fill = x[0].mean(axis=(1, 2))
    fill = np.asarray(fill, dtype=np.float32)
    colour = np.broadcast_to(fill if fill.ndim == 3 else fill[:, None, None], x.shape[1:])
    index, explained, unit = target_of(estimator, row.iloc[:1], schema)
    model = final_step(estimator)
    if _is_convnet(model):
        values = _integrated_gradients(model, x, colour, index)
        method = "integrated gradients on the pixels (captum), from the mean image"
    else:
        side, stride = _window(*x.shape[2:])
        values = _occlusion(estimator, row.iloc[:1], schema, x, colour, index, side, stride)
        method = (
            f"occlusion (captum): {side}x{side}-pixel patches, stride {stride}, replaced by "
            "the mean image"
        )
    return np.nan_to_num(values), x[0], method, unit, explained


def _integrated_gradients(
    model: Any, x: np.ndarray, colour: np.ndarray, index: int | None
) -> np.ndarray:
    import torch
    from captum.attr import IntegratedGradients

    net = model.module_.eval()
    device = next(net.parameters()).device
    inputs = model.encode(x)[0].to(device)  # standardized as the network sees it
    mean, std = model.channel_mean_[:, None, None], model.channel_std_[:, None, None]
    baseline = torch.from_numpy(np.asarray((colour - mean) / std, dtype=np.float32)[None])
    ig = IntegratedGradients(explained_output(model, net, index))
    attr = ig.attribute(
        inputs,
        baselines=baseline.to(device).expand_as(inputs).contiguous(),
        target=index,
        n_steps=IG_STEPS,
        internal_batch_size=IG_STEPS,
    )
    return attr[0].detach().double().cpu().numpy()


def _occlusion(
    estimator: Any,
    row: pd.DataFrame,
    schema: Schema,
    x: np.ndarray,
    colour: np.ndarray,
    index: int | None,
    side: int,
    stride: int,
) -> np.ndarray:
    import torch
    from captum.attr import Occlusion

    column = media_column(schema)
    classify = index is not None

    def forward(batch: Any) -> Any:
        arrays = list(batch.detach().cpu().numpy().astype(np.float32))
        frame = pd.concat([row] * len(arrays), ignore_index=True)
        frame[column] = pd.Series(arrays, dtype=object)
        out = estimator.predict_proba(frame) if classify else estimator.predict(frame)
        return torch.from_numpy(np.asarray(out, dtype=np.float64))

    channels = x.shape[1]
    baseline = np.asarray(colour, dtype=np.float32)[None]
    attr = Occlusion(forward).attribute(
        torch.from_numpy(x),
        sliding_window_shapes=(channels, side, side),
        strides=(channels, stride, stride),
        baselines=torch.from_numpy(baseline.copy()),
        target=index,
        perturbations_per_eval=128,
    )
    return attr[0].detach().double().cpu().numpy()


def regions(saliency: np.ndarray) -> list[tuple[str, str, float]]:
    """The 3 x 3 regions of a ``(H, W)`` map: (name, pixel range, summed weight)."""
    height, width = saliency.shape
    rows = np.linspace(0, height, 4).round().astype(int)
    cols = np.linspace(0, width, 4).round().astype(int)
    out = []
    for i, name_r in enumerate(ROWS):
        for j, name_c in enumerate(COLS):
            name = "centre" if (i, j) == (1, 1) else f"{name_r} {name_c}"
            block = saliency[rows[i] : rows[i + 1], cols[j] : cols[j + 1]]
            where = f"rows {rows[i]}-{rows[i + 1] - 1}, columns {cols[j]}-{cols[j + 1] - 1}"
            out.append((name, where, float(block.sum())))
    return out


def image_png(image: np.ndarray) -> str:
    """A ``(C, H, W)`` image as base64 PNG: [0, 1] values as they are, others min-max scaled."""
    from PIL import Image

    array = np.asarray(image, dtype=np.float64)
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 1:
        array = (array - low) / (high - low) if high > low else np.zeros_like(array)
    pixels = np.round(np.clip(array, 0, 1) * 255).astype(np.uint8)
    pixels = pixels[0] if len(pixels) == 1 else np.moveaxis(pixels[:3], 0, -1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _rounded(values: np.ndarray) -> list[list[float]]:
    return [[float(f"{v:.4g}") for v in line] for line in values.tolist()]


def explain_image_row(
    estimator: Any,
    model_name: str,
    row: pd.DataFrame,
    schema: Schema,
    *,
    top: int = 10,
    fill: Any = None,
) -> Explanation:
    """The saliency map of ``row``'s prediction and its ``top`` regions (of the 3 x 3 grid)."""
    row = row.iloc[:1]
    prediction = display_value(np.asarray(estimator.predict(row))[0])
    values, image, method, unit, explained = saliency_map(estimator, row, schema, fill)
    saliency = values.sum(axis=0)  # (H, W)
    note = "relative to the mean image; summed over channels"
    view = ImageView(_rounded(saliency), image_png(image), method, unit, note)
    ranked = sorted(regions(saliency), key=lambda r: -abs(r[2]))[:top]
    contributions = [Contribution(name, where, value) for name, where, value in ranked]
    return Explanation(model_name, prediction, explained, method, unit, contributions, image=view)

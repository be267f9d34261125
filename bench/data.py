"""Synthetic mixed tables for the benchmarks: numeric and categorical columns, seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd


def mixed_table(n_rows: int, n_cols: int = 20, task: str = "binary", seed: int = 0) -> pd.DataFrame:
    """``n_cols`` features (half numeric, half categorical with 5-50 levels) and a target ``y``.

    The target depends non-linearly on a few numeric and categorical columns plus noise, so
    both trees and networks have something to learn.
    """
    rng = np.random.default_rng(seed)
    n_num = n_cols - n_cols // 2
    frame = pd.DataFrame(
        {f"num_{i}": rng.normal(size=n_rows).astype("float64") for i in range(n_num)}
    )
    effects = np.zeros(n_rows)
    for i in range(n_cols // 2):
        levels = 5 + 5 * i
        codes = rng.integers(0, levels, size=n_rows)
        frame[f"cat_{i}"] = pd.Series(np.char.add("c", codes.astype(str)), dtype=object)
        if i < 3:
            effects += rng.normal(size=levels)[codes]
    signal = (
        frame["num_0"] * 1.5 - frame["num_1"] ** 2 + np.sin(3 * frame["num_2"]) + 0.5 * effects
    ).to_numpy()
    noise = rng.normal(scale=0.5, size=n_rows)
    if task == "regression":
        frame["y"] = signal + noise
    else:
        frame["y"] = np.where(signal + noise > np.median(signal), "yes", "no")
    return frame

"""Generated text and scikit-learn digits for the text and image explanation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

INDICATIVE = {"pos": ("excellent", "wonderful"), "neg": ("terrible", "awful")}
FILLER = ["the", "my", "please", "i", "you", "can", "how", "what", "is", "to", "why", "did"]
FILLER += ["a", "it", "was"]


def make_reviews(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """``review`` (one indicative word among six fillers, varied case and punctuation), ``y``."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        label = str(rng.choice(list(INDICATIVE)))
        words = [str(rng.choice(INDICATIVE[label])), *rng.choice(FILLER, 6)]
        rng.shuffle(words)
        text = " ".join(words)
        text = (text.capitalize() if rng.random() < 0.5 else text) + rng.choice([".", "!", "", "?"])
        rows.append({"review": text, "y": label})
    return pd.DataFrame(rows)


def indicative_word(text: str) -> str:
    words = {w for pair in INDICATIVE.values() for w in pair}
    return next(w for w in text.lower().replace("!", " ").replace("?", " ").split() if w in words)


def digit_arrays(n: int = 180, digits: tuple[int, ...] = (0, 1, 7)):
    """Up to ``n`` digit images (8 x 8, values in [0, 1]) of the given classes, and labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    keep = np.isin(data.target, digits)
    images = (data.images[keep][:n] / 16.0).astype(np.float32)
    return images, data.target[keep][:n]

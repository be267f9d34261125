"""Generated text tables: the label (or a number) depends on which topic words a text uses."""

from __future__ import annotations

import numpy as np
import pandas as pd

TOPICS = {
    "card": ["card", "lost", "stolen", "blocked", "pin", "atm", "declined"],
    "refund": ["refund", "money", "back", "charge", "payment", "returned", "fee"],
    "transfer": ["transfer", "account", "bank", "wire", "pending", "sent", "iban"],
}
FILLER = [
    "the",
    "my",
    "please",
    "i",
    "you",
    "can",
    "how",
    "what",
    "is",
    "to",
    "why",
    "did",
    "a",
    "it",
]


def make_text_table(n: int = 120, task: str = "multiclass", seed: int = 0) -> pd.DataFrame:
    """``text`` (3 topic words among 5 fillers), ``channel`` (a weak categorical) and ``y``."""
    rng = np.random.default_rng(seed)
    labels = list(TOPICS)[:2] if task == "binary" else list(TOPICS)
    rows = []
    for _ in range(n):
        label = str(rng.choice(labels))
        words = [*rng.choice(TOPICS[label], 3), *rng.choice(FILLER, 5)]
        rng.shuffle(words)
        text = " ".join(words).capitalize() + rng.choice(["?", ".", "!"])
        rows.append({"text": text, "channel": str(rng.choice(["app", "web"])), "y": label})
    frame = pd.DataFrame(rows)
    if task == "regression":
        score = {"card": 1.0, "refund": 5.0, "transfer": 9.0}
        frame["y"] = frame["y"].map(score) + rng.normal(scale=0.3, size=n)
    return frame

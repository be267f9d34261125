"""Text features: cleaning, statistics, TF-IDF with side columns, network inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlvsdl.data import infer_schema
from mlvsdl.errors import SchemaMismatchError
from mlvsdl.features.text import (
    STAT_NAMES,
    split_net_inputs,
    text_cleaner,
    text_features,
    text_net_inputs,
    text_stats,
)
from mlvsdl.types import Modality
from tests.families.text.data import make_text_table


def test_text_stats_measure_length_digits_urls_and_case():
    stats = text_stats(["FREE entry!! call 0800 www.win.com", "ok"])
    named = dict(zip(STAT_NAMES, stats[0], strict=True))
    assert stats.shape == (2, len(STAT_NAMES))
    assert named["n_urls"] == 1 and named["exclamations"] == 2
    assert named["digit_ratio"] == pytest.approx(4 / 34)
    assert named["upper_ratio"] == pytest.approx(4 / 34)
    assert stats[1, 0] == pytest.approx(np.log1p(2))


@pytest.fixture()
def mixed():
    frame = make_text_table(n=50, task="binary")
    frame["amount"] = np.random.default_rng(0).normal(size=50)
    frame.loc[0, "text"] = None
    return infer_schema(frame, "y")


def test_cleaner_keeps_text_as_strings_and_cleans_side_columns(mixed):
    frame, schema = mixed
    assert schema.modality is Modality.TEXT
    out = text_cleaner(schema).fit(frame).transform(frame)
    assert out.loc[0, "text"] == ""
    assert {"amount", "channel", "text"} <= set(out.columns)
    with pytest.raises(SchemaMismatchError, match="text column"):
        text_cleaner(schema).fit(frame).transform(frame.drop(columns="text"))


def test_features_join_tfidf_statistics_and_side_columns(mixed):
    frame, schema = mixed
    cleaned = text_cleaner(schema).fit_transform(frame)
    features = text_features(schema).fit(cleaned)
    matrix = features.transform(cleaned)
    names = [n.split("__")[0] for n in features.get_feature_names_out()]
    assert {"word0", "char0", "stats0", "num", "cat"} <= set(names)
    assert matrix.shape[0] == 50
    nonneg = text_features(schema, nonnegative=True).fit_transform(cleaned)
    assert nonneg.min() >= 0


def test_network_inputs_join_text_columns_and_add_side_block():
    frame = make_text_table(n=30, task="binary")
    frame["title"] = [f"subject line number {i}" for i in range(30)]
    frame, schema = infer_schema(frame, "y")
    cleaned = text_cleaner(schema).fit_transform(frame)
    texts, side = split_net_inputs(text_net_inputs(schema).fit_transform(cleaned))
    assert texts[0].endswith("subject line number 0") and " | " in texts[0]
    assert side.shape == (30, 2) and side.dtype == np.float32  # channel one-hot
    with pytest.raises(SchemaMismatchError):
        split_net_inputs(pd.DataFrame({"x": [1]}))

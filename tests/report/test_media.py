"""Text and image runs end to end: feature engineering measured on the run's own folds, the
report's highlighted words and saliency images, and 'mlvsdl explain' on both."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from mlvsdl import compare
from mlvsdl.evaluate.analysis import load_analysis, load_run_data, save_analysis
from mlvsdl.evaluate.engineering import measure_engineering
from mlvsdl.evaluate.engineering_media import measure_media_engineering
from mlvsdl.families import registry
from mlvsdl.report import write_report
from mlvsdl.store import Store
from tests.evaluate.media_data import digit_arrays, indicative_word, make_reviews
from tests.test_cli import run_cli

EPOCHS = {"text_transformer": 12, "image_cnn": 8}


def _run(tmp_path_factory, name, source, families, **kwargs):
    """compare (networks cut to a few epochs), then feature engineering and the report."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for key, epochs in EPOCHS.items():
                family = registry.get_family(key)

                def short(schema, seed, family=family, epochs=epochs):
                    return family.factory(schema, seed).set_params(model__max_epochs=epochs)

                patch.setitem(registry._FAMILIES, key, replace(family, factory=short))
            store = tmp_path_factory.mktemp(name) / "store"
            result = compare(source, families=families, cv=2, store=store, seed=0, **kwargs)
            db = Store(result.store)
            data = load_run_data(db, result.run_id)
            doc = load_analysis(db, result.run_id)
            candidates = db.db.candidates(result.run_id)
            doc["engineering"] = measure_engineering(
                data.X, data.y, data.schema, data.splits, data.metric, candidates, []
            )
            save_analysis(db, result.run_id, doc)
            write_report(db, result.run_id)
    finally:
        torch.set_num_threads(threads)
    return result, doc, data, candidates


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    source = tmp_path_factory.mktemp("reviews") / "reviews.csv"
    make_reviews(n=160).to_csv(source, index=False)
    families = ["dummy", "tfidf_logreg", "text_transformer"]
    return _run(tmp_path_factory, "text", str(source), families, target="y", time_budget=None)


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits") / "train"
    images, labels = digit_arrays(n=120)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray((image * 255).astype(np.uint8)).save(root / str(label) / f"{i}.png")
    families = ["dummy", "image_logreg", "image_cnn"]
    return _run(tmp_path_factory, "image", root, families, time_budget=None)


def _variants(doc):
    return {(r["model"], r["variant"]): r for r in doc["engineering"]["rows"]}


def test_text_engineering_has_tfidf_and_counts_scores(text_run):
    _, doc, _, candidates = text_run
    rows = _variants(doc)
    tfidf = rows["tfidf_logreg", "TF-IDF of word and character n-grams + text statistics (as in "
                 "the leaderboard)"]  # fmt: skip
    counts = rows["tfidf_logreg", "plain word counts (CountVectorizer)"]
    stored = next(c for c in candidates if c["name"] == "tfidf_logreg")["details"]["fold_scores"]
    assert tfidf["score"] == pytest.approx(np.mean(stored)) and tfidf["folds"] == 2
    assert 0.5 < counts["score"] <= 1 and counts["folds"] == 2
    assert counts["delta"] == pytest.approx(counts["score"] - tfidf["score"])
    assert rows["text_transformer", "raw text (network)"]["kind"] == "dl"
    assert "run's own folds" in doc["engineering"]["note"]


def test_image_engineering_has_hog_and_pixels_scores(image_run):
    _, doc, _, _ = image_run
    rows = _variants(doc)
    assert {v for m, v in rows if m == "image_logreg"} == {
        "raw pixels + HOG (as in the leaderboard)", "HOG only", "raw pixels only",
    }  # fmt: skip
    for row in rows.values():
        assert row["folds"] == 2 and 0 <= row["score"] <= 1
    assert rows["image_logreg", "HOG only"]["delta"] is not None
    assert ("image_cnn", "raw pixels (network)") in rows


def test_large_data_is_subsampled_and_says_so(image_run):
    _, _, data, candidates = image_run
    found = measure_media_engineering(
        data.X, data.y, data.schema, data.splits, data.metric, candidates, max_rows=50
    )
    assert "subsample of 50 of the" in found["note"]
    rows = _variants({"engineering": found})
    assert rows["image_logreg", "raw pixels + HOG (as in the leaderboard)"]["folds"] == 2
    assert rows["image_logreg", "HOG only"]["delta"] is not None


def test_the_text_report_highlights_words_for_ml_and_dl_side_by_side(text_run):
    result, doc, _, _ = text_run
    page = result.report_path.read_text(encoding="utf-8")
    assert "Held-out texts explained, word by word" in page
    assert set(doc["examples"]["models"]) == {"tfidf_logreg", "text_transformer"}
    spans = re.findall(
        r'<span class="tok" style="background:rgba\([^"]+\)" title="([+-]\d\.\d+)"', page
    )
    assert len(spans) > 10
    rows = re.findall(r'<div class="media-row">(.*?)</div></div>', page, re.S)
    assert len(rows) == len(doc["examples"]["rows"]) >= 2
    assert all("badge ml" in r and "badge dl" in r for r in rows)
    assert "coefficient x TF-IDF value" in page and "integrated gradients on the token" in page
    assert page.count("Attention weights (not a faithful explanation on their own)") >= 2
    assert "intrinsically interpretable" in page and "explained post hoc" in page
    assert "plain word counts (CountVectorizer)" in page
    assert "<script" not in page.lower()


def test_the_image_report_shows_saliency_images_inline(image_run):
    result, doc, _, _ = image_run
    page = result.report_path.read_text(encoding="utf-8")
    assert "Held-out images explained, pixel by pixel" in page
    images = re.findall(
        r'<img class="pixels" src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="([^"]+)"', page
    )
    n = len(doc["examples"]["rows"])
    assert len(images) == 3 * n and n >= 2  # the input, then the ML and the DL map
    assert sum(a.startswith("Saliency map of") for a in images) == 2 * n
    assert "HOG only" in page and "raw pixels only" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)


def test_explain_a_text_row_from_the_cli(monkeypatch, capsys, text_run):
    result, _, data, _ = text_run
    code, out, err = run_cli(monkeypatch, capsys, "explain", result.run_id, "--row", "5",
                             "--model", "text_transformer", "--top", "3",
                             "--store", str(result.store))  # fmt: skip
    assert code == 0, err
    assert "integrated gradients on the token embeddings" in out
    assert "Attention weights (not a faithful explanation on their own)" in out
    word = indicative_word(data.X["review"].iloc[5])
    assert word in out.split("Top words")[1].lower()


def test_explain_an_image_row_writes_the_saliency_png(monkeypatch, capsys, image_run, tmp_path):
    result, _, _, _ = image_run
    target = tmp_path / "maps" / "row3.png"
    code, out, err = run_cli(monkeypatch, capsys, "explain", result.run_id, "--row", "3",
                             "--model", "image_logreg", "--out", str(target),
                             "--store", str(result.store))  # fmt: skip
    assert code == 0, err
    assert "occlusion (captum)" in out and "centre" in out
    assert str(target) in out.replace("\n", "")
    with Image.open(target) as png:
        assert png.format == "PNG" and png.size[0] > 100

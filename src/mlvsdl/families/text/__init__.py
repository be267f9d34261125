"""Text families, classical and deep. Importing this package registers them.

Classical (TF-IDF word + character n-grams and text statistics): ``tfidf_logreg``,
``tfidf_svm``, ``tfidf_nb``, ``tfidf_lgbm``. Networks trained from scratch on the training texts
(their own word vocabulary): ``text_bag`` (fastText), ``text_cnn``, ``text_rnn`` (BiGRU),
``text_transformer``. Pretrained all-MiniLM-L6-v2: ``minilm`` (frozen, trained head) and
``minilm_ft`` (fine-tuned end to end). Other columns of the table join every model as the
tabular families encode them.

Relative costs are per row of one text column, on the scale of the tabular families (cost per
row and feature): a TF-IDF model costs about as much per text as a linear model per 3 numbers.
"""

from __future__ import annotations

from functools import partial

from mlvsdl.families.base import Family
from mlvsdl.families.registry import register
from mlvsdl.families.text import ml
from mlvsdl.families.text.dl import build_text_net_pipeline
from mlvsdl.families.text.encoder import build_encoder_pipeline
from mlvsdl.types import Kind, Modality, Task

__all__ = ["TEXT_FAMILIES"]

ALL_TASKS = frozenset(Task)
CLASSIFICATION = frozenset({Task.BINARY, Task.MULTICLASS})
TEXT = frozenset({Modality.TEXT})

TEXT_FAMILIES = tuple(
    register(family)
    for family in (
        Family(
            "tfidf_logreg",
            "TF-IDF + logistic regression",
            Kind.ML,
            ALL_TASKS,
            TEXT,
            ml.build_logreg,
            relative_cost=3.0,
            interpretable=True,
            description="Logistic regression (ridge) on word and character n-gram TF-IDF.",
        ),
        Family(
            "tfidf_svm",
            "TF-IDF + linear SVM",
            Kind.ML,
            ALL_TASKS,
            TEXT,
            ml.build_svm,
            relative_cost=3.0,
            interpretable=True,
            description="Linear SVM on word and character n-gram TF-IDF, Platt-scaled.",
        ),
        Family(
            "tfidf_nb",
            "TF-IDF + complement naive Bayes",
            Kind.ML,
            CLASSIFICATION,
            TEXT,
            ml.build_naive_bayes,
            relative_cost=1.0,
            interpretable=True,
            description="Complement naive Bayes on word and character n-gram TF-IDF.",
        ),
        Family(
            "tfidf_lgbm",
            "TF-IDF + LightGBM",
            Kind.ML,
            ALL_TASKS,
            TEXT,
            ml.build_lgbm,
            relative_cost=10.0,
            description="Gradient-boosted trees on word n-gram TF-IDF and text statistics.",
        ),
        Family(
            "text_bag",
            "fastText bag of n-grams",
            Kind.DL,
            ALL_TASKS,
            TEXT,
            partial(build_text_net_pipeline, arch="bag"),
            relative_cost=5.0,
            max_train_rows=200_000,
            description="Mean of word and hashed-bigram embeddings, linear head (fastText).",
        ),
        Family(
            "text_cnn",
            "1-D CNN",
            Kind.DL,
            ALL_TASKS,
            TEXT,
            partial(build_text_net_pipeline, arch="cnn"),
            relative_cost=15.0,
            max_train_rows=200_000,
            description="Convolutions of widths 3, 5, 7 over word embeddings, max over time.",
        ),
        Family(
            "text_rnn",
            "BiGRU",
            Kind.DL,
            ALL_TASKS,
            TEXT,
            partial(build_text_net_pipeline, arch="rnn"),
            relative_cost=30.0,
            max_train_rows=200_000,
            description="Bidirectional GRU over word embeddings, max and mean over time.",
        ),
        Family(
            "text_transformer",
            "Transformer (from scratch)",
            Kind.DL,
            ALL_TASKS,
            TEXT,
            partial(build_text_net_pipeline, arch="transformer"),
            relative_cost=30.0,
            max_train_rows=200_000,
            description="2-layer transformer encoder with its own vocabulary, trained from zero.",
        ),
        Family(
            "minilm",
            "MiniLM frozen + head",
            Kind.DL,
            ALL_TASKS,
            TEXT,
            partial(build_encoder_pipeline, fine_tune=False),
            relative_cost=20.0,
            max_train_rows=100_000,
            description="Pretrained all-MiniLM-L6-v2 sentence embeddings, MLP head trained.",
        ),
        Family(
            "minilm_ft",
            "MiniLM fine-tuned",
            Kind.DL,
            ALL_TASKS,
            TEXT,
            partial(build_encoder_pipeline, fine_tune=True),
            relative_cost=200.0,
            max_train_rows=50_000,
            description="Pretrained all-MiniLM-L6-v2 fine-tuned end to end (64 tokens, capped).",
        ),
    )
)

"""Text families, classical and deep. Importing this package registers them.

Classical (TF-IDF word + character n-grams and text statistics): ``tfidf_logreg``,
``tfidf_svm``, ``tfidf_nb``, ``tfidf_lgbm``. Networks trained from scratch on the training texts
(their own word vocabulary): ``text_bag`` (fastText), ``text_cnn``, ``text_rnn`` (BiGRU),
``text_transformer``. Pretrained all-MiniLM-L6-v2: ``minilm`` (frozen, trained head) and
``minilm_ft`` (fine-tuned end to end, more epochs on small data), ``minilm_logreg`` (logistic
regression on the frozen sentence embeddings, the usual few-shot baseline) and ``minilm_tfidf``
(a linear SVM on the TF-IDF features joined with the frozen sentence embeddings). Other columns
of the table join every model as the tabular families encode them.

Relative costs are per row of one text column, on the scale of the tabular families (cost per
row and feature): a TF-IDF model costs about as much per text as a linear model per 3 numbers.
"""

from __future__ import annotations

from functools import partial

from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC, LinearSVR

from mlvsdl.families.base import Family
from mlvsdl.families.registry import register
from mlvsdl.families.text import ml
from mlvsdl.families.text.dl import build_text_net_pipeline
from mlvsdl.families.text.encoder import build_encoder_pipeline
from mlvsdl.families.text.pretrained import SentenceEmbeddings
from mlvsdl.features.tabular import linear_encoder
from mlvsdl.features.text import has_side_columns, side_schema, text_cleaner, text_features
from mlvsdl.types import SUPERVISED, ColumnKind, Kind, Modality, Schema, Task

__all__ = ["TEXT_FAMILIES"]

ALL_TASKS = SUPERVISED  # the prediction tasks; other tasks have families of their own
CLASSIFICATION = frozenset({Task.BINARY, Task.MULTICLASS})
TEXT = frozenset({Modality.TEXT})

# Fine-tuning on small data: at least this many optimizer steps, as epochs (3 to 20).
FINE_TUNE_MIN_STEPS = 300


def build_fine_tuned(schema: Schema, random_state: int) -> Pipeline:
    """``minilm_ft``: the fine-tuning pipeline, its epochs fitted to the training size.

    3 epochs (the usual BERT recipe) when that is at least ``FINE_TUNE_MIN_STEPS`` steps: 850
    steps on 10,000 rows, 7-15 minutes on 2 CPU cores (0.5-1 s a step). Small data gets more
    epochs, up to 20: 770 rows (10 shots of 77 classes) are 22 steps an epoch, and 3 or 5
    epochs of them leave the encoder and head barely trained.
    """
    pipeline = build_encoder_pipeline(schema, random_state, fine_tune=True)
    model = pipeline.named_steps["model"]
    if schema.n_rows <= 0:  # size unknown: the estimator's own settings
        return pipeline
    steps_per_epoch = max(1, round(0.9 * schema.n_rows / model.batch_size))
    epochs = min(20, max(3, -(-FINE_TUNE_MIN_STEPS // steps_per_epoch)))
    return pipeline.set_params(model__max_epochs=epochs, model__patience=3)


def build_tfidf_minilm(schema: Schema, random_state: int) -> Pipeline:
    """``minilm_tfidf``: a linear SVM (Platt-scaled) on TF-IDF + frozen MiniLM embeddings.

    The two views err differently: n-grams catch exact keywords and codes, the embedding
    paraphrases. The unit-length embedding gets weight 2 against the unit-length word and
    character TF-IDF blocks.
    """
    features = FeatureUnion(
        [
            ("tfidf", text_features(schema)),
            ("minilm", SentenceEmbeddings(text=tuple(schema.of_kind(ColumnKind.TEXT)), weight=2.0)),
        ]
    )
    if schema.task.is_classification:
        model: object = ml.CalibratedSVM(LinearSVC(C=0.5, random_state=random_state), cv=3)
    else:
        model = LinearSVR(C=0.5, random_state=random_state, max_iter=5000)
    return Pipeline([("clean", text_cleaner(schema)), ("features", features), ("model", model)])


def build_minilm_logreg(schema: Schema, random_state: int) -> Pipeline:
    """``minilm_logreg``: logistic regression (ridge regression) on frozen MiniLM embeddings.

    Sentence embeddings with a linear model are the standard few-shot baseline: nothing but the
    head is trained, so ten examples per class are enough. The embeddings are unit length, so
    the penalty is weak (``C=10``); on banking77 with 10 examples per class, C from 10 to 100
    scores alike. Other columns join as the linear families encode them.
    """
    text = tuple(schema.of_kind(ColumnKind.TEXT))
    parts: list[tuple[str, object, object]] = [
        ("minilm", SentenceEmbeddings(text=text), list(text))
    ]
    if has_side_columns(schema):
        encoder = linear_encoder(side_schema(schema))
        parts.extend((n, t, c) for n, t, c in encoder.transformers if c)
    features = ColumnTransformer(parts, sparse_threshold=0.0)
    if schema.task.is_classification:
        model: object = LogisticRegression(C=10.0, max_iter=2000, random_state=random_state)
    else:
        model = RidgeCV(alphas=(0.01, 0.1, 1.0, 10.0))
    return Pipeline([("clean", text_cleaner(schema)), ("features", features), ("model", model)])


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
            self_limiting=True,  # stops boosting at its allowance (families/ml/lgbm.py)
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
            self_limiting=True,
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
            self_limiting=True,
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
            self_limiting=True,
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
            self_limiting=True,
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
            self_limiting=True,
        ),
        Family(
            "minilm_ft",
            "MiniLM fine-tuned",
            Kind.DL,
            ALL_TASKS,
            TEXT,
            build_fine_tuned,
            relative_cost=200.0,
            max_train_rows=50_000,
            description="Pretrained all-MiniLM-L6-v2 fine-tuned end to end (64 tokens, capped).",
            self_limiting=True,
        ),
        Family(
            "minilm_logreg",
            "MiniLM embeddings + logistic regression",
            Kind.DL,
            ALL_TASKS,
            TEXT,
            build_minilm_logreg,
            relative_cost=15.0,  # before `minilm`: the cheaper model pays for the embeddings
            max_train_rows=100_000,
            description="Logistic regression on frozen all-MiniLM-L6-v2 sentence embeddings.",
        ),
        Family(
            "minilm_tfidf",
            "TF-IDF + MiniLM embeddings, linear SVM",
            Kind.DL,
            ALL_TASKS,
            TEXT,
            build_tfidf_minilm,
            relative_cost=25.0,
            max_train_rows=100_000,
            description="Linear SVM on word/char TF-IDF joined with frozen MiniLM embeddings.",
        ),
    )
)

"""FT-Transformer, MLP-PLR and TabM: inputs, ensembling, weight decay, limits, parameters."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from mlvsdl.errors import ConfigError
from mlvsdl.families.dl.embedded import (
    FTTransformerClassifier,
    FTTransformerNet,
    FTTransformerRegressor,
    MLPPLRClassifier,
    MLPPLRNet,
    MLPPLRRegressor,
)
from mlvsdl.families.dl.tabm_net import (
    PerHeadLoss,
    TabMClassifier,
    TabMNet,
    TabMRegressor,
    quantile_bins,
)
from mlvsdl.families.dl.trainer import TrainConfig, Trainer

CLASSIFIERS = [FTTransformerClassifier, MLPPLRClassifier, TabMClassifier]
REGRESSORS = [FTTransformerRegressor, MLPPLRRegressor, TabMRegressor]
FAST = {"max_epochs": 30, "batch_size": 64, "lr": 3e-3}
SMALL = {  # narrower than the defaults, so the learning test stays quick on two cores
    FTTransformerClassifier: {"n_blocks": 1},
    MLPPLRClassifier: {"d_block": 64},
    TabMClassifier: {"k": 8, "d_block": 64},
}


def _table(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two standardized numerics and one code column (0..2); the signal needs both kinds."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    codes = rng.integers(0, 3, size=n)
    signal = np.sin(2 * x[:, 0]) + 2.0 * (codes == 2) - 0.5
    return np.column_stack([x, codes]).astype(float), signal


@pytest.mark.parametrize("estimator_class", CLASSIFIERS, ids=lambda c: c.__name__)
def test_classifiers_learn_from_numerics_and_codes(estimator_class):
    X, signal = _table()
    y = np.where(signal > 0, "hi", "lo")
    params = {**FAST, **SMALL[estimator_class]}
    est = estimator_class(n_categorical=1, random_state=0, **params).fit(X, y)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert (est.predict(X) == y).mean() > 0.85
    assert est.cardinalities_ == (4,) and est.n_numeric_ == 2


@pytest.mark.parametrize("estimator_class", REGRESSORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("n_categorical", [0, 3], ids=["numerics-only", "codes-only"])
def test_regressors_take_tables_of_one_kind(estimator_class, n_categorical):
    X, signal = _table(n=120)
    X = X[:, :2] if n_categorical == 0 else np.column_stack([X[:, 2], X[:, 2], X[:, 2]])
    est = estimator_class(n_categorical=n_categorical, random_state=0, max_epochs=2)
    pred = est.fit(X, signal).predict(X)
    assert pred.shape == (len(X),) and np.all(np.isfinite(pred))


def test_tabm_predicts_the_mean_of_its_heads():
    X, signal = _table(n=200)
    clf = TabMClassifier(n_categorical=1, k=4, random_state=0, max_epochs=2).fit(X, signal > 0)
    x_num, x_cat = clf.encode(X)
    with torch.inference_mode():
        heads = clf.module_.model(x_num, x_cat)  # (B, k, 2): every head, eval mode
    assert heads.shape == (len(X), 4, 2)
    mean_proba = torch.softmax(heads.double(), dim=-1).mean(dim=1).numpy()
    np.testing.assert_allclose(clf.predict_proba(X), mean_proba, rtol=1e-5, atol=1e-6)
    assert not np.allclose(heads[:, 0].numpy(), heads[:, 1].numpy())  # the heads differ

    reg = TabMRegressor(n_categorical=1, k=4, random_state=0, max_epochs=2).fit(X, signal)
    with torch.inference_mode():
        heads = reg.module_.model(*reg.encode(X))[:, :, 0].double().numpy()
    np.testing.assert_allclose(
        reg.predict(X), heads.mean(axis=1) * reg.y_scale_ + reg.y_mean_, rtol=1e-5
    )


def test_tabm_trains_each_head_on_the_loss():
    torch.manual_seed(0)
    pred, target = torch.randn(5, 3, 4), torch.randint(0, 4, (5,))
    per_head = [nn.functional.cross_entropy(pred[:, j], target) for j in range(3)]
    loss = PerHeadLoss(nn.CrossEntropyLoss())(pred, target)
    assert loss.item() == pytest.approx(torch.stack(per_head).mean().item(), rel=1e-6)
    # averaged outputs (eval mode) go to the base loss unchanged
    assert PerHeadLoss(nn.MSELoss())(pred[:, 0, :1], pred[:, 1, :1]).item() == pytest.approx(
        nn.functional.mse_loss(pred[:, 0, :1], pred[:, 1, :1]).item()
    )
    module = TabMNet(
        _tabm_config(k=3, bins=quantile_bins(torch.randn(50, 2), 8), n_outputs=4)
    ).train()
    assert module(torch.randn(5, 2), torch.zeros(5, 1, dtype=torch.long)).shape == (5, 3, 4)


def _tabm_config(**overrides):
    from mlvsdl.families.dl.tabm_net import TabMConfig

    base = {"n_numeric": 2, "cardinalities": (3,), "n_outputs": 2, "regression": False}
    return TabMConfig(**{**base, **overrides})


def test_quantile_bins_handle_constant_flag_and_short_columns():
    x = torch.tensor([[0.0, 1.0, 5.0], [1.0, 1.0, 5.0], [2.0, 1.0, 6.0], [3.0, 1.0, 5.0]])
    bins = quantile_bins(x, 48)  # capped at rows - 1 bins
    assert len(bins) == 3
    assert bins[1] == (1.0, 2.0)  # constant column: one bin
    for edges in bins:
        assert len(edges) >= 2 and all(a < b for a, b in itertools.pairwise(edges))
    assert len(bins[0]) <= 4


def test_embeddings_and_norms_take_no_weight_decay():
    config = TrainConfig(weight_decay=0.1)
    ft = FTTransformerNet(_ft_config())
    plr = MLPPLRNet(_plr_config())
    for module in (ft, plr):
        trainer = Trainer(module, nn.MSELoss(), config)
        trainer._params = [p for p in module.parameters() if p.requires_grad]
        optimizer, _ = trainer.configure_optimizers(10)
        decayed = {
            id(p) for g in optimizer.param_groups if g["weight_decay"] > 0 for p in g["params"]
        }
        exempt = {id(p) for p in module.no_weight_decay()}
        assert exempt and not exempt & decayed
        assert decayed  # the dense layers still decay
    assert id(ft.model.cls_embedding.weight) in {id(p) for p in ft.no_weight_decay()}
    assert {id(p) for p in plr.num_embeddings.parameters()} <= {
        id(p) for p in plr.no_weight_decay()
    }


def _ft_config():
    from mlvsdl.families.dl.embedded import FTTransformerConfig

    return FTTransformerConfig(n_numeric=2, cardinalities=(3,), n_outputs=1, n_blocks=1)


def _plr_config():
    from mlvsdl.families.dl.embedded import MLPPLRConfig

    return MLPPLRConfig(n_numeric=2, cardinalities=(3,), n_outputs=1, n_blocks=1, d_block=8)


@pytest.mark.parametrize("estimator_class", CLASSIFIERS, ids=lambda c: c.__name__)
def test_the_wall_clock_limit_ends_training(estimator_class):
    X, signal = _table(n=2000)
    est = estimator_class(
        n_categorical=1, batch_size=16, max_epochs=10_000, patience=None, max_time_s=0.3
    )
    est.fit(X, signal > 0)
    assert est.stop_reason_ == "time"
    assert len(est.history_) < 10_000


@pytest.mark.parametrize(
    ("estimator", "message"),
    [
        (FTTransformerClassifier(n_blocks=7), "n_blocks=7"),
        (MLPPLRClassifier(frequency_init_scale=0.0, d_block=0), "d_block=0, frequency_init_"),
        (TabMClassifier(k=0, dropout=1.0), "k=0, dropout=1.0"),
        (TabMRegressor(n_categorical=9), "n_categorical=9"),
    ],
)
def test_bad_parameters_are_one_clear_error_at_fit(estimator, message):
    X, signal = _table(n=40)
    y = signal if isinstance(estimator, TabMRegressor) else signal > 0
    with pytest.raises(ConfigError, match=message):
        estimator.fit(X, y)


def test_registered_for_supervised_tables_and_ordered_by_measured_cost():
    from mlvsdl.families.registry import get_family
    from mlvsdl.types import SUPERVISED, Kind, Modality

    keys = ("mlp", "mlp_plr", "tabm", "ft_transformer")
    families = [get_family(key) for key in keys]
    for family in families[1:]:
        assert family.kind is Kind.DL and family.tasks == SUPERVISED
        assert Modality.TABULAR in family.modalities and family.self_limiting
    costs = [f.relative_cost for f in families]
    assert costs == sorted(costs)  # cheapest first: the order a comparison runs them in


def test_ft_transformer_runs_only_when_named():
    from mlvsdl.data import infer_schema
    from mlvsdl.families.registry import resolve_families
    from tests.conftest import make_table

    _, schema = infer_schema(make_table(n=100), "y")
    assert "ft_transformer" not in [f.key for f in resolve_families(None, schema)]
    assert "mlp_plr" in [f.key for f in resolve_families(None, schema)]
    named = resolve_families(["lgbm", "ft_transformer"], schema)
    assert [f.key for f in named] == ["lgbm", "ft_transformer"]

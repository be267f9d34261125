"""Table synthesizers (``--task synthesize``). Importing this package registers them.

Each factory returns ``SamplerPipeline([("model", synthesizer)])`` for the schema's numeric,
boolean and categorical columns (``codec.synth_columns``); the baseline, independent marginals,
is the ``dummy`` family's answer for this task (``families/ml``).
"""

from __future__ import annotations

from collections.abc import Callable

from mlvsdl.families.base import Family
from mlvsdl.families.registry import register
from mlvsdl.families.synth.base import BaseSynthesizer, SamplerPipeline, final_sampler
from mlvsdl.families.synth.classical import (
    CARTSynthesizer,
    GaussianCopulaSynthesizer,
    MarginalSynthesizer,
    MixtureSynthesizer,
)
from mlvsdl.families.synth.codec import synth_columns
from mlvsdl.families.synth.ctgan import CTGANSynthesizer
from mlvsdl.families.synth.deep import TVAESynthesizer
from mlvsdl.types import Kind, Modality, Schema, Task

__all__ = [
    "BaseSynthesizer",
    "CARTSynthesizer",
    "CTGANSynthesizer",
    "GaussianCopulaSynthesizer",
    "MarginalSynthesizer",
    "MixtureSynthesizer",
    "SamplerPipeline",
    "TVAESynthesizer",
    "final_sampler",
    "sampler_pipeline",
]

SYNTHESIZE = frozenset({Task.SYNTHESIZE})
TABULAR = frozenset({Modality.TABULAR})


def sampler_pipeline(
    schema: Schema, cls: type[BaseSynthesizer], seed: int, **params
) -> SamplerPipeline:
    columns, numeric = synth_columns(schema)
    target = schema.options.get("target")
    model = cls(columns=columns, numeric=numeric, target=target, random_state=seed, **params)
    return SamplerPipeline([("model", model)])


def _factory(cls: type[BaseSynthesizer]) -> Callable[[Schema, int], SamplerPipeline]:
    def factory(schema: Schema, seed: int) -> SamplerPipeline:
        return sampler_pipeline(schema, cls, seed)

    return factory


for _family in (
    Family(
        "copula",
        "Gaussian copula",
        Kind.ML,
        SYNTHESIZE,
        TABULAR,
        _factory(GaussianCopulaSynthesizer),
        relative_cost=0.2,
        priority=0,
        interpretable=True,
        description="Each column's marginal joined by one Gaussian copula (rank correlations).",
    ),
    Family(
        "mixture",
        "Gaussian mixture",
        Kind.ML,
        SYNTHESIZE,
        TABULAR,
        _factory(MixtureSynthesizer),
        relative_cost=3.0,
        description=(
            "A Gaussian mixture (components by BIC) on quantile-normalized numbers and one-hot "
            "categories."
        ),
    ),
    Family(
        "cart",
        "Sequential CART",
        Kind.ML,
        SYNTHESIZE,
        TABULAR,
        _factory(CARTSynthesizer),
        relative_cost=1.0,
        interpretable=True,
        description="Each column from a decision tree on the columns before it (synthpop).",
    ),
    Family(
        "tvae",
        "TVAE",
        Kind.DL,
        SYNTHESIZE,
        TABULAR,
        _factory(TVAESynthesizer),
        relative_cost=20.0,
        self_limiting=True,
        description="Variational autoencoder on mode-specific normalized rows (Xu et al. 2019).",
    ),
    Family(
        "ctgan",
        "CTGAN",
        Kind.DL,
        SYNTHESIZE,
        TABULAR,
        _factory(CTGANSynthesizer),
        relative_cost=30.0,
        self_limiting=True,
        description="Conditional WGAN-GP with training by sampling (Xu et al. 2019).",
    ),
):
    register(_family)

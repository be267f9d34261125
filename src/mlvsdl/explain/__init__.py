"""Per-prediction explanations: what moved one model's output for one row.

One module per kind of input, all explaining the model at the end of a fitted pipeline:

==================  ===========================================================================
module              explains
==================  ===========================================================================
``row``             any row: :func:`explain_row` dispatches by task and modality; tables per
                    raw column (coefficients, TreeSHAP, integrated gradients, occlusion)
``text``            per word (integrated gradients for networks, ``tfidf`` for the TF-IDF
                    linear and LightGBM models, leave-one-word-out occlusion otherwise)
``attention``       the from-scratch transformer's attention per word (shown beside ``text``)
``image``           saliency maps (integrated gradients for networks, patch occlusion otherwise)
``anomaly``         each column's share of a detector's anomaly score
``explanation``     the result types (:class:`Explanation`, its text and image views)
==================  ===========================================================================

``_common`` and ``_words`` hold what the modules share (the pipeline's last step and what it
receives, the explained output, value display; where a text model's words are). Networks are
read through their public :meth:`~mlvsdl.families.dl.network.NetworkEstimator.encode`.
"""

from __future__ import annotations

from mlvsdl.explain._common import final_step
from mlvsdl.explain.explanation import (
    Attribution,
    Contribution,
    Explanation,
    ImageView,
    TextView,
    TokenWeight,
)
from mlvsdl.explain.row import (
    ROW_EXPLAINERS,
    attribute,
    encoded_sources,
    explain_row,
    explain_run_row,
    native_explainer,
    reference_frame,
)

__all__ = [
    "ROW_EXPLAINERS",
    "Attribution",
    "Contribution",
    "Explanation",
    "ImageView",
    "TextView",
    "TokenWeight",
    "attribute",
    "encoded_sources",
    "explain_row",
    "explain_run_row",
    "final_step",
    "native_explainer",
    "reference_frame",
]

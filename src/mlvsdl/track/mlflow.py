"""Log a finished run to MLflow: one parent run per compare, one nested run per candidate.

Everything is read back from the store after the run (the store is the trusted source; mlvsdl
never loads a model from MLflow). Per candidate: its parameters (family, kind, seed and the final
step's hyperparameters), every metric on every split (``cv_*``, ``test_*``, ``train_*``), fit and
predict times, model size, and the fitted pipeline in MLflow's ``sklearn`` flavour with an input
signature inferred from a few training rows, so ``mlflow models serve`` can load it. The parent
run holds the settings, the schema (``schema.json``) and the report (``report.html``) when one
was written.

Default tracking URI: ``sqlite:////<store>/mlflow.db``, with artifacts beside it in
``<store>/mlflow-artifacts`` (MLflow would otherwise put them in ``./mlruns`` of the working
directory).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from mlvsdl.errors import ConfigError
from mlvsdl.result import library_versions
from mlvsdl.store import Store

__all__ = ["DEFAULT_EXPERIMENT", "default_tracking_uri", "log_run"]

logger = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "mlvsdl"
MAX_PARAMS = 100  # hyperparameters logged per candidate, at most (sorted by name)
MAX_PARAM_CHARS = 250  # a longer value (a nested estimator's repr) is cut to this
CANDIDATE_METRICS = (
    "val_score",
    "val_std",
    "test_score",
    "fit_time_s",
    "predict_time_s_per_1k",
    "model_bytes",
    "n_train_rows",
)
_REQUIREMENTS = ("numpy", "pandas", "scikit-learn", "lightgbm", "torch", "skops")


def default_tracking_uri(store: Store) -> str:
    """``sqlite:////abs/store/mlflow.db`` (four slashes: the scheme's three, then the root)."""
    return f"sqlite:///{(store.root / 'mlflow.db').resolve()}"


def _import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise ConfigError(
            "--mlflow needs MLflow, which is not installed; pip install 'mlvsdl[mlflow]'."
        ) from None
    return mlflow


def check_available() -> None:
    """Raise the one-line install hint before a run starts, not after it finished."""
    _import_mlflow()


def log_run(
    store: Store,
    run_id: str,
    tracking_uri: str | bool | None = None,
    *,
    example: pd.DataFrame | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
) -> str:
    """Log run ``run_id`` of ``store`` to MLflow; return the parent MLflow run's id.

    ``tracking_uri``: where to log; None or True for :func:`default_tracking_uri`.
    ``example``: a few training rows (features only) to infer each model's input signature from;
    without it the models are logged without a signature.
    """
    mlflow = _import_mlflow()
    uri = tracking_uri if isinstance(tracking_uri, str) else default_tracking_uri(store)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        experiment_id = _experiment_id(mlflow, experiment, uri)
        run = store.db.run(run_id)
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_id) as parent:
            _log_parent(mlflow, store, run_id, run)
            metrics = _metrics_by_candidate(store, run_id)
            for candidate in store.db.candidates(run_id):
                with mlflow.start_run(
                    experiment_id=experiment_id, run_name=candidate["name"], nested=True
                ):
                    _log_candidate(mlflow, store, run, candidate, metrics, example)
            logger.info("logged run %s to MLflow %s as %s", run_id, uri, parent.info.run_id)
            return str(parent.info.run_id)
    finally:
        mlflow.set_tracking_uri(previous)


def _experiment_id(mlflow: Any, name: str, uri: str) -> str:
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = None
    if uri.startswith("sqlite:///"):  # artifacts beside the database, not in ./mlruns
        location = (Path(uri.removeprefix("sqlite:///")).parent / "mlflow-artifacts").as_uri()
    return str(mlflow.create_experiment(name, artifact_location=location))


def _log_parent(mlflow: Any, store: Store, run_id: str, run: dict[str, Any]) -> None:
    settings = run["settings"]
    mlflow.set_tags({"mlvsdl.run_id": run_id, "mlvsdl.status": run["status"]})
    mlflow.log_params(
        {
            "target": run["target"],
            "task": run["task"],
            "metric": run["metric"],
            "seed": run["seed"],
            "n_rows": run["n_rows"],
            "source": _cut(run["source"]),
            "data_fingerprint": run["fingerprint"],
            "n_folds": settings.get("n_folds"),
            "test_size": settings.get("test_size"),
            "time_budget_s": settings.get("time_budget_s"),
            "families": _cut(",".join(settings.get("families", []))),
        }
    )
    mlflow.log_dict(run["schema"], "schema.json")
    report = store.run_dir(run_id) / "report.html"
    if report.is_file():
        mlflow.log_artifact(str(report))


def _metrics_by_candidate(store: Store, run_id: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for row in store.db.metrics(run_id):
        out.setdefault(row["candidate"], {})[f"{row['split']}_{row['metric']}"] = row["value"]
    return out


def _log_candidate(
    mlflow: Any,
    store: Store,
    run: dict[str, Any],
    candidate: dict[str, Any],
    metrics: dict[str, dict[str, float]],
    example: pd.DataFrame | None,
) -> None:
    name = candidate["name"]
    mlflow.set_tags({"mlvsdl.status": candidate["status"], "mlvsdl.reason": candidate["reason"]})
    params = {
        "family": candidate["family"],
        "kind": candidate["kind"],
        "seed": run["seed"],
        "status": candidate["status"],
    }
    values = {k: candidate[k] for k in CANDIDATE_METRICS if candidate.get(k) is not None}
    mlflow.log_metrics({**metrics.get(name, {}), **values})
    if candidate["status"] != "completed":
        mlflow.log_params(params)
        return
    model = store.load_model(run["run_id"], name)
    mlflow.log_params({**params, **hyperparameters(model)})
    _log_model(mlflow, model, name, example)


def hyperparameters(model: Any) -> dict[str, str]:
    """The final step's ``get_params``, flattened (``a__b``), as text cut to a sane length."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    params = final.get_params(deep=True) if hasattr(final, "get_params") else {}
    items = sorted(params.items())[:MAX_PARAMS]
    return {f"model__{k}": _cut(repr(v) if not isinstance(v, str) else v) for k, v in items}


def _cut(text: str) -> str:
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."


def _log_model(mlflow: Any, model: Any, name: str, example: pd.DataFrame | None) -> None:
    from mlflow.models import infer_signature

    signature = None
    if example is not None:
        signature = infer_signature(example, model.predict(example))
    versions = library_versions()
    requirements = [
        f"{dist}=={versions[dist]}" for dist in _REQUIREMENTS if versions[dist] != "not installed"
    ]
    # The pipeline holds mlvsdl's own classes: the serving environment needs mlvsdl itself.
    requirements.append("mlvsdl")
    import mlflow.sklearn
    import skops.io as sio

    # skops, not pickle, as in the store: loading it trusts only the types listed here, which
    # are the ones the store trusted when it loaded this model. The requirements are given, so
    # MLflow does not load the model in a subprocess to guess them.
    mlflow.sklearn.log_model(
        model,
        name=name,
        signature=signature,
        pip_requirements=requirements,
        serialization_format="skops",
        skops_trusted_types=sio.get_untrusted_types(data=sio.dumps(model)),
    )

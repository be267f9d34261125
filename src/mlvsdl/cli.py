"""The ``mlvsdl`` command line: thin parsing over the library, rendering with rich.

Every ``MlvsdlError`` becomes one line on stderr and exit code 2; nothing else is caught here.
"""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mlvsdl import _clock, render
from mlvsdl.errors import MlvsdlError

app = typer.Typer(
    name="mlvsdl",
    help="Machine learning versus deep learning, measured on your own data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)
# when the command began (set by main(); None: called another way, the budget counts from
# the call to compare)
_started: float | None = None

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store", envvar="MLVSDL_STORE", help="Store directory (default: ./mlvsdl-runs)."
    ),
]
NamesOpt = Annotated[
    str | None,
    typer.Option(help="Comma-separated column names, for a CSV/TSV file without a header row."),
]
NaOpt = Annotated[
    str | None,
    typer.Option("--na-values", help="Comma-separated cell values read as missing (default: ?)."),
]
RunArg = Annotated[str, typer.Argument(help="Run id (see 'mlvsdl runs'), or 'latest'.")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts (keys documented in the README).")
]
# Options whose value may be left out (``--mlflow`` alone): main() fills in this word for them.
OPTIONAL_VALUE = {"--mlflow": "store", "--ray": "local"}
BadFileOpt = Annotated[
    str,
    typer.Option(
        "--on-bad-file", help="skip or fail on unreadable files and empty texts (default: skip)."
    ),
]


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",")] if value is not None else None


def _resolve_run(run: str, store: str | None) -> str:
    if run != "latest":
        return run
    from mlvsdl.store import Store

    runs = Store(store, create=False).db.runs()
    if not runs:
        raise MlvsdlError("the store has no runs yet; run 'mlvsdl compare' first.")
    return str(runs[0]["run_id"])


@app.command()
def compare(
    data: Annotated[
        str,
        typer.Argument(
            help="CSV/TSV/Parquet/JSON Lines file (gzip ok), or a folder of images or audio "
            "files with one subfolder per class."
        ),
    ],
    target: Annotated[
        str | None,
        typer.Option("--target", "-t", help="Column to predict (default: label, for a folder)."),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(
            help="binary, multiclass or regression (default: inferred), or anomaly, cluster or "
            "embed "
            "(no target), or synthesize (--target optional: the utility column)."
        ),
    ] = None,
    metric: Annotated[str | None, typer.Option(help="Primary metric for ranking.")] = None,
    time_budget: Annotated[
        float, typer.Option("--time-budget", help="Seconds for the whole comparison.")
    ] = 300,
    seed: Annotated[int, typer.Option(help="Seed for splits, models and subsamples.")] = 0,
    families: Annotated[
        str | None, typer.Option(help="Comma-separated family keys, e.g. lgbm,mlp.")
    ] = None,
    cv: Annotated[int | None, typer.Option(help="Cross-validation folds (default: auto).")] = None,
    names: NamesOpt = None,
    na_values: NaOpt = None,
    store: StoreOpt = None,
    modality: Annotated[
        str | None, typer.Option(help="tabular, text, image or audio (default: inferred).")
    ] = None,
    on_bad_file: BadFileOpt = "skip",
    label_from_name: Annotated[
        str | None,
        typer.Option(
            "--label-from-name",
            help="For a folder: file-name pattern with the label, e.g. '{label}_*.wav'.",
        ),
    ] = None,
    curves: Annotated[
        bool,
        typer.Option(
            "--curves", help="Also trace learning curves (30% of the time budget is kept for them)."
        ),
    ] = False,
    label: Annotated[
        str | None,
        typer.Option(
            help="--task anomaly, cluster or embed: a column read for evaluation only (never "
            "fitted on)."
        ),
    ] = None,
    anomaly_value: Annotated[
        str | None,
        typer.Option(
            help="--task anomaly: the --label value that marks an anomaly (default: rarer)."
        ),
    ] = None,
    contamination: Annotated[
        float | None,
        typer.Option(
            help="--task anomaly: expected share of anomalies in (0, 0.5); sets thresholds."
        ),
    ] = None,
    dims: Annotated[
        int | None,
        typer.Option(help="--task embed: coordinates per row (default 2)."),
    ] = None,
    k: Annotated[
        int | None,
        typer.Option(
            "--k", help="--task cluster: the number of clusters (default: each family's rule)."
        ),
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="--task recommend: the user column.")
    ] = None,
    item: Annotated[
        str | None, typer.Option("--item", help="--task recommend: the item column.")
    ] = None,
    rating: Annotated[
        str | None,
        typer.Option(
            "--rating",
            help="--task recommend: the rating column (explicit feedback; without it, implicit).",
        ),
    ] = None,
    time: Annotated[
        str | None,
        typer.Option("--time", help="--task forecast or recommend: the time column"),
    ] = None,
    test: Annotated[
        str | None,
        typer.Option(
            "--test",
            help="Your own test file (same columns, read the same way): its rows are the test "
            "split; validation folds come from DATA alone.",
        ),
    ] = None,
    series: Annotated[
        str | None,
        typer.Option(help="--task forecast: the series id column (default: one series)."),
    ] = None,
    horizon: Annotated[
        int | None,
        typer.Option(help="--task forecast: steps ahead to forecast (each backtest window)."),
    ] = None,
    known: Annotated[
        str | None,
        typer.Option(help="--task forecast: comma-separated covariates known in advance."),
    ] = None,
    refit_all: Annotated[
        bool,
        typer.Option(
            "--refit-all",
            help="After testing, refit the recommended model on all rows (training + test) and "
            "store it as MODEL_all for deployment (unranked, no test score).",
        ),
    ] = False,
    mlflow: Annotated[
        str | None,
        typer.Option(
            "--mlflow",
            metavar="[TRACKING_URI]",
            help="Also log the run to MLflow (alone: a SQLite database in the store).",
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="RUN",
            help="Continue this unfinished run (same data and settings); keeps what it finished.",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", help="Trials run at once (worker processes; default 1)."),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="[ADDRESS]",
            envvar="MLVSDL_RAY_ADDRESS",
            help="Run trials as Ray tasks: alone starts a local runtime; 'auto' joins the cluster "
            "on this machine; or host:port.",
        ),
    ] = None,
) -> None:
    """Train ML and DL families on one table under one protocol and rank them (prediction, or
    anomaly detection with --task anomaly, clustering with --task cluster, dimensionality
    reduction with --task embed)."""
    from mlvsdl.compare import compare as run_compare

    keys = [k.strip() for k in families.split(",") if k.strip()] if families else None
    with render.Progress(console, time_budget) as progress:
        result = run_compare(
            data,
            target,
            task=task,
            metric=metric,
            time_budget=time_budget,
            seed=seed,
            families=keys,
            store=store,
            cv=cv,
            names=_split(names),
            na_values=_split(na_values),
            on_event=progress.update,
            modality=modality,
            on_bad_file=on_bad_file,
            curves=curves,
            label_from_name=label_from_name,
            label=label,
            anomaly_value=anomaly_value,
            contamination=contamination,
            dims=dims,
            k=k,
            test=test,
            time=time,
            series=series,
            horizon=horizon,
            known=_split(known),
            user=user,
            item=item,
            rating=rating,
            refit_all=refit_all,
            mlflow=True if mlflow == OPTIONAL_VALUE["--mlflow"] else mlflow,
            resume=resume,
            jobs=jobs,
            ray=True if ray == OPTIONAL_VALUE["--ray"] else ray,
            started=_started,
        )
    render.leaderboard(console, result)
    render.recommendation(console, result.recommendation, result.report_path)


@app.command()
def demo(
    time_budget: Annotated[float, typer.Option("--time-budget")] = 120,
    store: StoreOpt = None,
) -> None:
    """Compare every family on scikit-learn's breast-cancer table (ships offline)."""
    from mlvsdl.compare import compare as run_compare
    from mlvsdl.demo import demo_frame

    frame, target = demo_frame()
    console.print(
        f"Demo: {len(frame)} rows of scikit-learn's breast cancer data; "
        f"predicting [bold]{target}[/]."
    )
    with render.Progress(console, time_budget) as progress:
        result = run_compare(
            frame,
            target,
            time_budget=time_budget,
            store=store,
            on_event=progress.update,
            started=_started,
        )
    render.leaderboard(console, result)
    render.recommendation(console, result.recommendation, result.report_path)


@app.command()
def runs(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List the runs in the store, newest first."""
    from mlvsdl.store import Store

    rows = Store(store, create=False).db.runs()
    if as_json:
        from mlvsdl.documents import runs_document

        _echo_json(runs_document(rows))
        return
    render.runs(console, rows)


def _echo_json(document: object) -> None:
    """JSON on stdout, never wrapped or shortened (rich is not involved)."""
    import json

    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


@app.command()
def show(run: RunArg, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Print a run's schema and leaderboard."""
    from mlvsdl.result import load_run

    result = load_run(_resolve_run(run, store), store=store)
    if as_json:
        from mlvsdl.documents import run_document

        _echo_json(run_document(result))
        return
    render.schema(console, result.schema)
    render.leaderboard(console, result)


@app.command()
def predict(
    run: RunArg,
    data: Annotated[
        str | None,
        typer.Argument(
            help="Rows to predict, same columns as training; or a folder or file of images or "
            "audio. Not with --horizon."
        ),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name (default: the best).")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="CSV to write (default: stdout).")
    ] = None,
    names: NamesOpt = None,
    na_values: NaOpt = None,
    store: StoreOpt = None,
    on_bad_file: BadFileOpt = "skip",
    horizon: Annotated[
        int | None,
        typer.Option(help="Forecasting runs: write the next H rows of every series."),
    ] = None,
    history: Annotated[
        str | None,
        typer.Option(help="With --horizon: the series' history (default: the run's own data)."),
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option(
            "-k", "--top-k", help="--task recommend: the top K items per user of DATA's users."
        ),
    ] = None,
) -> None:
    """Predict new rows with a run's best (or named) model; for a forecasting run, the next
    --horizon rows of every series; for a recommendation run, the top -k items of each user in
    DATA (or, with ratings, the rating of each user-item pair)."""
    from mlvsdl.result import load_run
    from mlvsdl.store.artifacts import write_bytes_atomic

    result = load_run(_resolve_run(run, store), store=store)
    read_options: dict[str, object] = {"names": _split(names), "on_bad_file": on_bad_file}
    if na_values is not None:
        read_options["na_values"] = _split(na_values)
    if horizon is not None or history is not None:
        from mlvsdl.tasks.forecast_run import predict_forecast

        predictions = predict_forecast(result, data, horizon, history, model, read_options)
    elif top_k is not None or result.schema.task == "recommend":
        from mlvsdl.serve.recommend import predict_recommend

        predictions = predict_recommend(result, data, top_k, model, read_options)
    elif data is None:
        raise typer.BadParameter("give DATA (the rows to predict), or --horizon H for a forecast.")
    else:
        predictions = result.predict(data, model=model, **read_options)
    buffer = io.StringIO()
    predictions.to_csv(buffer, index=False)
    if output is None:
        typer.echo(buffer.getvalue(), nl=False)
        return
    write_bytes_atomic(output, buffer.getvalue().encode())
    err_console.print(
        f"Wrote {len(predictions)} predictions from "
        f"[bold]{model or result.best_model_name}[/] to {output}",
        soft_wrap=True,
    )


@app.command()
def sample(
    run: RunArg,
    rows: Annotated[int, typer.Option("--rows", "-n", help="How many rows to generate.")],
    model: Annotated[str | None, typer.Option(help="Model name (default: the best).")] = None,
    condition: Annotated[
        list[str] | None,
        typer.Option(help="col=value: fix a categorical column (repeatable)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed, for the same rows again.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="CSV to write (default: stdout).")
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Generate new rows with a --task synthesize run's best (or named) model."""
    from mlvsdl.result import load_run
    from mlvsdl.store.artifacts import write_bytes_atomic
    from mlvsdl.tasks.synthesize import sample_model

    result = load_run(_resolve_run(run, store), store=store)
    frame = sample_model(result, rows, model, condition, seed)
    text = frame.to_csv(index=False)
    if output is None:
        typer.echo(text, nl=False)
        return
    write_bytes_atomic(output, text.encode())
    name = model or result.best_model_name
    err_console.print(f"Wrote {len(frame)} rows from [bold]{name}[/] to {output}", soft_wrap=True)


@app.command()
def report(
    run: RunArg,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="HTML file (default: report.html in the run's folder)."
        ),
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Write a run's HTML report: one self-contained file, readable offline, from the store."""
    from mlvsdl.report import write_report

    path = write_report(store, _resolve_run(run, store), output)
    console.print(f"Report: {path}", highlight=False, soft_wrap=True)


@app.command()
def curves(
    run: RunArg,
    time_budget: Annotated[
        float, typer.Option("--time-budget", help="Seconds for the learning curves.")
    ] = 300,
    store: StoreOpt = None,
) -> None:
    """Trace learning curves for a stored run, then refresh its recommendation and report.

    The run's data file is read again; it must be unchanged since the run.
    """
    from mlvsdl.evaluate.analysis import load_run_data, update_curves
    from mlvsdl.evaluate.recommend import Recommendation
    from mlvsdl.report import write_report
    from mlvsdl.store import Store

    run_id = _resolve_run(run, store)
    db_store = Store(store, create=False)
    document = update_curves(
        db_store, run_id, load_run_data(db_store, run_id), budget_s=time_budget
    )
    render.curves(console, document.get("curves") or {})
    found = document.get("recommendation")
    path = write_report(db_store, run_id)
    render.recommendation(console, Recommendation.from_dict(found) if found else None, path)


@app.command()
def explain(
    run: RunArg,
    row: Annotated[int, typer.Option("--row", help="Row number (0-based) in the data.")] = 0,
    data: Annotated[
        str | None,
        typer.Option(
            "--data", help="File with the row(s) to explain (default: the run's own data file)."
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name (default: the recommended model).")
    ] = None,
    top: Annotated[int, typer.Option(help="How many columns (words, regions) to show.")] = 10,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="Image runs: where to write the saliency map PNG "
            "(default: ./mlvsdl-explain-RUN-MODEL-rowN.png).",
        ),
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Explain one prediction: which inputs pushed it up or down, and by how much.

    Table columns; words for text; pixels (a saliency map) for images.
    """
    from mlvsdl.explain import explain_run_row

    run_id = _resolve_run(run, store)
    explanation = explain_run_row(run_id, store=store, row=row, data=data, model=model, top=top)
    path = None
    if explanation.image is not None:
        from mlvsdl.report.media import saliency_png

        path = Path(out or f"mlvsdl-explain-{run_id}-{explanation.model}-row{row}.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(saliency_png(explanation.image))
    render.explanation(console, explanation, row, path)


@app.command()
def families(as_json: JsonOpt = False) -> None:
    """List the model families with their kind, tasks and modalities."""
    from mlvsdl.families.registry import all_families

    if as_json:
        from mlvsdl.documents import families_document

        _echo_json(families_document(all_families()))
        return
    render.families(console, all_families())


@app.command()
def serve(
    run: RunArg,
    model: Annotated[str | None, typer.Option(help="Model name (default: the best).")] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on; other than loopback needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(envvar="MLVSDL_TOKEN", help="Bearer token every request must carry."),
    ] = None,
    max_body_mb: Annotated[
        float, typer.Option("--max-body-mb", help="Largest request body accepted, in MiB.")
    ] = 10,
    allow_missing: Annotated[
        bool,
        typer.Option(
            "--allow-missing",
            help="Accept records without fields that were never missing in training (imputed, "
            "and listed in each answer); by default they are required.",
        ),
    ] = False,
    store: StoreOpt = None,
) -> None:
    """Serve a run's best (or named) model over HTTP: /predict, /explain, a web form at /."""
    from mlvsdl.serve import run_server

    def ready(served: object) -> None:
        name, run_id = getattr(served, "name", model), getattr(served, "run_id", run)
        err_console.print(
            f"Serving [bold]{name}[/] of run {run_id} on http://{host}:{port}/ (API docs at /docs"
            f"{'; bearer token required' if token else ''}). Ctrl-C stops.",
            soft_wrap=True,
        )

    run_server(
        _resolve_run(run, store),
        store=store,
        model=model,
        host=host,
        port=port,
        token=token,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        on_ready=ready,
        allow_missing=allow_missing,
    )


@app.command()
def export(
    run: RunArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="onnx or bundle.")],
    model: Annotated[str | None, typer.Option(help="Model name (default: the best).")] = None,
    store: StoreOpt = None,
) -> None:
    """Export a run's best (or named) model as ONNX or as one portable bundle file."""
    run_id = _resolve_run(run, store)
    if fmt == "bundle":
        from mlvsdl.export.bundle import write_bundle

        path, name = write_bundle(run_id, output, store=store, model=model)
        err_console.print(
            f"Wrote {path}: model [bold]{name}[/] of run {run_id} with its schema and checksums; "
            "load it with mlvsdl.load_model(path).",
            soft_wrap=True,
        )
    elif fmt == "onnx":
        from mlvsdl.export.onnx import export_run_onnx

        done, name = export_run_onnx(run_id, output, store=store, model=model)
        err_console.print(
            f"Wrote {done.path}: model [bold]{name}[/] of run {run_id} as ONNX.", soft_wrap=True
        )
        for line in done.included:
            err_console.print(f"  included: {line}", highlight=False)
        for line in done.excluded:
            err_console.print(f"  NOT included: {line}", highlight=False)
        inputs = ", ".join(f"{n} ({t})" for n, t in done.inputs)
        err_console.print(f"  inputs, each (N, 1): {inputs}", highlight=False)
        err_console.print(f"  outputs: {', '.join(done.outputs)}", highlight=False)
    else:
        raise MlvsdlError(f"unknown --format {fmt!r}; choose onnx or bundle.")


def fill_optional_values(args: list[str]) -> list[str]:
    """``--mlflow`` given without a value (last, or followed by another option) gets its
    default word, since Typer options always take a value."""
    out: list[str] = []
    for i, arg in enumerate(args):
        out.append(arg)
        following = args[i + 1] if i + 1 < len(args) else None
        if arg in OPTIONAL_VALUE and (following is None or following.startswith("-")):
            out.append(OPTIONAL_VALUE[arg])
    return out


def main() -> None:
    global _started
    _started = _clock.command_started()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app(args=fill_optional_values(sys.argv[1:]), standalone_mode=False)
    except MlvsdlError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("interrupted; finished candidates are kept in the store.")
        raise SystemExit(130) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:  # usage errors (click's, or the copy Typer vendors as typer._click)
        if any(cls.__name__ == "ClickException" for cls in type(exc).__mro__):
            exc.show()  # type: ignore[attr-defined]
            raise SystemExit(exc.exit_code) from None  # type: ignore[attr-defined]
        raise


_clock.loaded()  # after every definition: loading the command line is done

if __name__ == "__main__":
    main()

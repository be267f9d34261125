"""The ``mlvsdl`` command line: thin parsing over the library, rendering with rich.

Every ``MlvsdlError`` becomes one line on stderr and exit code 2; nothing else is caught here.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mlvsdl import render
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

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store", envvar="MLVSDL_STORE", help="Store directory [default: ./mlvsdl-runs]."
    ),
]
NamesOpt = Annotated[
    str | None,
    typer.Option(help="Comma-separated column names, for a CSV/TSV file without a header row."),
]
NaOpt = Annotated[
    str | None,
    typer.Option("--na-values", help="Comma-separated cell values read as missing [default: ?]."),
]
RunArg = Annotated[str, typer.Argument(help="Run id (see 'mlvsdl runs'), or 'latest'.")]


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
    data: Annotated[str, typer.Argument(help="CSV/TSV/Parquet/JSON Lines file (gzip ok).")],
    target: Annotated[str, typer.Option("--target", "-t", help="Column to predict.")],
    task: Annotated[
        str | None, typer.Option(help="binary, multiclass or regression [default: inferred].")
    ] = None,
    metric: Annotated[str | None, typer.Option(help="Primary metric for ranking.")] = None,
    time_budget: Annotated[
        float, typer.Option("--time-budget", help="Seconds for the whole comparison.")
    ] = 300,
    seed: Annotated[int, typer.Option(help="Seed for splits, models and subsamples.")] = 0,
    families: Annotated[
        str | None, typer.Option(help="Comma-separated family keys, e.g. lgbm,mlp.")
    ] = None,
    cv: Annotated[int | None, typer.Option(help="Cross-validation folds [default: auto].")] = None,
    names: NamesOpt = None,
    na_values: NaOpt = None,
    store: StoreOpt = None,
) -> None:
    """Train ML and DL families on one table under one protocol and rank them."""
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
        )
    render.leaderboard(console, result)


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
            frame, target, time_budget=time_budget, store=store, on_event=progress.update
        )
    render.leaderboard(console, result)


@app.command()
def runs(store: StoreOpt = None) -> None:
    """List the runs in the store, newest first."""
    from mlvsdl.store import Store

    render.runs(console, Store(store, create=False).db.runs())


@app.command()
def show(run: RunArg, store: StoreOpt = None) -> None:
    """Print a run's schema and leaderboard."""
    from mlvsdl.result import load_run

    result = load_run(_resolve_run(run, store), store=store)
    render.schema(console, result.schema)
    render.leaderboard(console, result)


@app.command()
def predict(
    run: RunArg,
    data: Annotated[str, typer.Argument(help="Rows to predict, same columns as training.")],
    model: Annotated[str | None, typer.Option(help="Model name [default: the best].")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="CSV to write [default: stdout].")
    ] = None,
    names: NamesOpt = None,
    na_values: NaOpt = None,
    store: StoreOpt = None,
) -> None:
    """Predict new rows with a run's best (or named) model."""
    from mlvsdl.result import load_run
    from mlvsdl.store.artifacts import write_bytes_atomic

    result = load_run(_resolve_run(run, store), store=store)
    read_options: dict[str, object] = {"names": _split(names)}
    if na_values is not None:
        read_options["na_values"] = _split(na_values)
    predictions = result.predict(data, model=model, **read_options)
    buffer = io.StringIO()
    predictions.to_csv(buffer, index=False)
    if output is None:
        typer.echo(buffer.getvalue(), nl=False)
        return
    write_bytes_atomic(output, buffer.getvalue().encode())
    err_console.print(
        f"Wrote {len(predictions)} predictions from "
        f"[bold]{model or result.best_model_name}[/] to {output}"
    )


@app.command()
def families() -> None:
    """List the model families with their kind, tasks and modalities."""
    from mlvsdl.families.registry import all_families

    render.families(console, all_families())


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app(standalone_mode=False)
    except MlvsdlError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("interrupted; finished candidates are kept in the store.")
        raise SystemExit(130) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        raise


if __name__ == "__main__":
    main()

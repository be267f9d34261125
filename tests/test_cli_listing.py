"""Run ids and model names are never cut on an 80-column terminal or in a pipe; ``--json`` for
scripts with the keys the README documents."""

from __future__ import annotations

import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mlvsdl import cli
from mlvsdl.compare import compare
from tests.conftest import make_table


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> tuple[str, str]:
    store = tmp_path_factory.mktemp("listing") / "store"
    source = store.parent / ("a-table-whose-name-is-long-enough-to-crowd-the-columns" + ".csv")
    make_table(n=120).to_csv(source, index=False)
    result = compare(str(source), "y", families=["dummy", "linear"], cv=2, store=store)
    return str(store), result.run_id


@pytest.fixture(params=["COLUMNS=80", "pipe"])
def invoke(request, monkeypatch):
    """Run the CLI as a user does: an 80-column terminal, or stdout piped (not a terminal)."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(cli, "console", Console())  # width resolved when printing, as for a user
    env = {"COLUMNS": "80"} if request.param == "COLUMNS=80" else {"COLUMNS": None}

    def run(*args: str) -> str:
        outcome = CliRunner().invoke(cli.app, list(args), env=env)
        assert outcome.exit_code == 0, outcome.output
        return outcome.output

    return run


def test_runs_and_show_print_the_whole_run_id_at_80_columns(invoke, stored):
    store, run_id = stored
    out = invoke("runs", "--store", store)
    assert run_id in out
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    out = invoke("show", run_id, "--store", store)
    assert f"mlvsdl predict {run_id} NEW.csv -o predictions.csv" in out  # one line, to copy
    for name in ("dummy", "linear"):  # what --model takes
        assert f" {name} " in out
    assert "…" not in out


def test_families_keys_are_whole_at_80_columns(invoke):
    out = invoke("families")
    assert "…" not in out
    for key in ("minilm_logreg", "image_resnet", "text_transformer", "decision_tree"):
        assert key in out


def test_runs_json_has_the_documented_keys(invoke, stored):
    store, run_id = stored
    document = json.loads(invoke("runs", "--store", store, "--json"))
    assert [r["run_id"] for r in document] == [run_id]
    assert set(document[0]) == {
        "run_id",
        "created_at",
        "finished_at",
        "status",
        "source",
        "target",
        "task",
        "metric",
        "n_rows",
        "n_models",
    }
    assert document[0]["status"] == "completed" and document[0]["n_models"] == 2
    assert document[0]["source"].endswith("crowd-the-columns.csv")


def test_show_json_has_the_documented_keys(invoke, stored):
    store, run_id = stored
    document = json.loads(invoke("show", "latest", "--store", store, "--json"))
    assert document["run_id"] == run_id
    assert {
        "status",
        "source",
        "target",
        "task",
        "metric",
        "modality",
        "n_rows",
        "classes",
        "best_model",
        "columns",
        "warnings",
        "leaderboard",
    } <= set(document)
    assert document["best_model"] in ("dummy", "linear") and document["classes"] == ["no", "yes"]
    assert {c["name"] for c in document["columns"]} == {"x1", "x2", "colour", "flag", "when"}
    row = document["leaderboard"][0]
    assert set(row) == {
        "rank",
        "model",
        "title",
        "kind",
        "status",
        "val_score",
        "val_std",
        "test_score",
        "fit_time_s",
        "predict_time_s_per_1k",
        "model_bytes",
        "n_train_rows",
        "note",
    }
    assert row["rank"] == 1 and isinstance(row["val_score"], float)


def test_families_json_lists_every_family(invoke):
    document = json.loads(invoke("families", "--json"))
    keys = {f["key"] for f in document}
    assert {"dummy", "lgbm", "mlp", "minilm"} <= keys
    assert set(document[0]) == {
        "key",
        "title",
        "kind",
        "tasks",
        "modalities",
        "interpretable",
        "description",
    }

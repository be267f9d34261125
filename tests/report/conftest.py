from __future__ import annotations

import pytest

from mlvsdl import compare
from mlvsdl.evaluate.analysis import load_run_data, update_curves
from mlvsdl.report import write_report
from mlvsdl.store import Store
from tests.conftest import make_table

FAMILIES = ["dummy", "linear", "mlp"]  # LightGBM is covered by the unit tests


@pytest.fixture(scope="package")
def reported_run(tmp_path_factory):
    """One small binary run from a CSV file, with learning curves (traced after the run, within
    a small budget, as 'mlvsdl curves' does) and its report."""
    import torch

    root = tmp_path_factory.mktemp("reported")
    data = root / "table.csv"
    make_table(n=240).to_csv(data, index=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny network: on a busy machine more threads wait on each other
    try:
        result = compare(
            str(data), "y", families=FAMILIES, cv=3, store=root / "store", seed=0, time_budget=None
        )
        store = Store(result.store)
        update_curves(store, result.run_id, load_run_data(store, result.run_id), budget_s=15)
        write_report(store, result.run_id)
    finally:
        torch.set_num_threads(threads)
    return result, data

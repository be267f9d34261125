"""Parallel trials: `--jobs 2` against sequential, and what a Ray task costs beyond the trial.

1. The classical families on a 100k-row mixed table (one holdout, no time limit), once
   sequentially and once with ``jobs=2``: wall time of the families (until the analysis starts)
   and whether the two leaderboards are identical. Target: >= 1.6x on 2 cores.
2. Ray overhead per trial on a local runtime: the same small trial (the dummy baseline on 2,000
   rows) timed in this process and as a Ray task (data already in the object store); the
   difference, median of repeats, is what Ray adds per trial. Target: <= 0.5 s. Also the
   runtime's start-up, paid once per compare.

    python bench/parallel.py [--rows 100000] [--repeats 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine
from data import mixed_table

FAMILIES = ["dummy", "linear", "naive_bayes", "decision_tree", "lgbm", "random_forest"]
COLUMNS = ["model", "status", "val_score", "test_score"]


def families_wall_s(frame, jobs: int | None) -> tuple[float, object]:
    from mlvsdl import compare

    marks: dict[str, float] = {}

    def on_event(event) -> None:
        if event.kind == "analysis":
            marks["families_s"] = event.elapsed_s

    with tempfile.TemporaryDirectory() as store:
        result = compare(
            frame, "y", families=FAMILIES, time_budget=None, store=store, jobs=jobs,
            on_event=on_event,
        )  # fmt: skip
        board = result.leaderboard[COLUMNS].sort_values("model").reset_index(drop=True)
        fits = result.leaderboard.set_index("model")["fit_time_s"].round(1).to_dict()
    return marks["families_s"], (board, fits)


def ray_overhead(repeats: int) -> dict[str, float]:
    from mlvsdl.data import infer_schema, make_splits
    from mlvsdl.search.executor import RayExecutor, measured_trial
    from mlvsdl.search.trial import TrialSpec

    frame = mixed_table(2_000)
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    _, schema = infer_schema(frame, "y")
    splits = make_splits(y, schema.task, test_size=0.2, n_folds=5, random_state=0)
    spec = TrialSpec("dummy", schema, X, y, splits, "roc_auc", 0)
    local = [_timed(measured_trial, spec) for _ in range(repeats)]
    start = time.perf_counter()
    with RayExecutor(None, X, y, jobs=1) as executor:
        startup = time.perf_counter() - start
        first = _timed(executor.run, spec)  # starts a worker and imports mlvsdl in it
        on_ray = [_timed(executor.run, spec) for _ in range(repeats)]
    return {
        "startup_s": startup,
        "first_task_s": first,
        "local_s": statistics.median(local),
        "ray_s": statistics.median(on_ray),
        "overhead_s": statistics.median(on_ray) - statistics.median(local),
    }


def _timed(run, spec) -> float:
    start = time.perf_counter()
    result, _ = run(spec)
    assert result.status == "completed", result.reason
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a throwaway local runtime
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    print(machine())
    print(f"load average at start: {os.getloadavg()}")
    frame = mixed_table(args.rows)
    seq_s, (seq_board, seq_fits) = families_wall_s(frame, None)
    print(f"sequential: families {seq_s:.1f} s; fit times {seq_fits}", flush=True)
    par_s, (par_board, par_fits) = families_wall_s(frame, 2)
    print(f"--jobs 2:   families {par_s:.1f} s; fit times {par_fits}", flush=True)
    print(f"speed-up {seq_s / par_s:.2f}x; identical leaderboards: {seq_board.equals(par_board)}")
    print(seq_board.to_string())
    print(f"load average after the compares: {os.getloadavg()}")
    figures = ray_overhead(args.repeats)
    print("ray (local runtime): " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""Scale: `compare` with default families on synthetic mixed tables of growing size.

For each size and task, one child process generates the table (not timed), runs `compare` with
the default families under a time budget, and reports wall time, peak RSS, what ran, what was
subsampled or skipped, and each family's fit time per training row (which should not grow with
size). Targets: 1M rows completes within a 15-minute budget on 2 cores with peak RSS <= 4 GB.

    python bench/scale.py [--sizes 10000,100000,1000000] [--tasks binary,regression]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mb
from data import mixed_table

BUDGETS_S = {10_000: 120, 100_000: 300, 1_000_000: 900}


def child(rows: int, task: str, store: str) -> None:
    from mlvsdl import compare

    frame = mixed_table(rows, task=task)
    base_rss = peak_rss_mb()
    start = time.perf_counter()
    marks: dict[str, float] = {}

    def progress(event) -> None:  # to stderr, so a long run can be followed; also timed
        elapsed = time.perf_counter() - start
        if event.kind == "analysis":
            marks["analysis_start_s"] = elapsed
        status = event.info.get("status", "") if event.kind == "trial_end" else ""
        print(f"{elapsed:8.1f} s  {event.kind:<11} {event.family or ''} {status}", file=sys.stderr)

    budget = BUDGETS_S.get(rows, 900)
    result = compare(frame, "y", time_budget=budget, store=store, seed=0, on_event=progress)
    wall = time.perf_counter() - start
    board = result.leaderboard
    out = {
        "rows": rows,
        "task": task,
        "wall_s": wall,
        "families_s": marks.get("analysis_start_s", wall),
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_compare_mb": base_rss,
        "n_folds": result.settings["n_folds"],
        "families": [
            {k: (None if v != v else v) for k, v in row.items()}  # NaN -> None
            for row in board[
                ["model", "kind", "status", "val_score", "fit_time_s", "n_train_rows", "note"]
            ].to_dict("records")
        ],
    }
    print("RESULT " + json.dumps(out, default=str))


def run(rows: int, task: str, verbose: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as store:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(rows), task, store],
            stdout=subprocess.PIPE,
            stderr=None if verbose else subprocess.PIPE,
            text=True,
            check=False,
        )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"child failed for {rows} {task}:\n{(proc.stderr or '')[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def show(res: dict) -> None:
    budget = BUDGETS_S.get(res["rows"], 900)
    print(
        f"\n{res['rows']:,} rows x 20 columns, {res['task']}: wall {res['wall_s']:.1f} s "
        f"(families {res['families_s']:.1f} s of a {budget} s budget, then the analysis and "
        f"report {res['wall_s'] - res['families_s']:.1f} s), peak RSS {res['peak_rss_mb']:.0f} MB, "
        f"{res['n_folds']} validation fold(s)"
    )
    for f in res["families"]:
        if f["status"] == "completed":
            per_row_us = f["fit_time_s"] / f["n_train_rows"] * 1e6
            print(
                f"  {f['model']:<14} {f['kind']}  val {f['val_score']:.4f}  fit "
                f"{f['fit_time_s']:7.2f} s on {int(f['n_train_rows']):>9,} rows = "
                f"{per_row_us:6.2f} µs/row  {f['note'] or ''}"
            )
        else:
            print(f"  {f['model']:<14} {f['kind']}  {f['status']}: {f['note']}")
    ok_time = res["wall_s"] <= budget * 1.1
    ok_rss = res["peak_rss_mb"] <= 4096
    print(f"  within budget (+10% for the family in flight): {ok_time}; peak RSS <= 4 GB: {ok_rss}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--tasks", default="binary,regression")
    parser.add_argument("--verbose", action="store_true", help="show each run's progress")
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    os.environ.setdefault("PYTHONHASHSEED", "0")
    for task in args.tasks.split(","):
        for rows in map(int, args.sizes.split(",")):
            show(run(rows, task, args.verbose))


if __name__ == "__main__":
    main()

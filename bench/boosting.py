"""Boosting families and ensembles across families on the peers' tables (issue 17, items 1, 3).

Runs ``compare`` on the fixed splits of ``../shared/peers/datasets.py`` (the training rows as
data, the shipped or seeded test rows as ``test``), at one budget, and prints every model's
validation and test score, the three ensembles with their members, and the answer to "does
mixing classical and deep models help on this data?". Skips a dataset whose files are absent.

    python bench/boosting.py [--datasets electricity,MagicTelescope] [--budget 120]
        [--families dummy,linear,lgbm,xgboost,catboost,mlp,resmlp]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine

from mlvsdl import compare
from mlvsdl.evaluate.analysis import load_analysis
from mlvsdl.store import Store

PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers" / "datasets.py"


def _peers():
    if not PEERS.is_file():
        sys.exit(f"{PEERS} is absent: nothing to measure")
    os.environ.setdefault("MLVSDL_DATASETS", str(PEERS.parents[1] / "datasets"))
    spec = importlib.util.spec_from_file_location("peers_datasets", PEERS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="electricity,MagicTelescope")
    parser.add_argument("--budget", type=float, default=120)
    parser.add_argument("--families", default=None, help="comma-separated; default: all")
    parser.add_argument("--out", default=None, help="append one JSON line per dataset")
    args = parser.parse_args()
    peers = _peers()
    families = args.families.split(",") if args.families else None
    print(f"Machine: {machine()}")
    for name in args.datasets.split(","):
        try:
            train, test, target, task = peers.load(name)
        except (FileNotFoundError, OSError) as exc:
            print(f"{name}: skipped ({exc})")
            continue
        metric = "accuracy" if task == "binary" else "rmse"
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            marks: dict[str, float] = {}

            def listen(event, marks=marks, start=start) -> None:
                now = time.perf_counter() - start
                if event.kind == "trial_end":
                    group = "ensembles" if str(event.family).startswith("ensemble_") else "families"
                    marks[group] = now
                elif event.kind == "analysis":
                    marks["analysis_start"] = now

            result = compare(
                train,
                target=target,
                test=test,
                metric=metric,
                time_budget=args.budget,
                seed=0,
                families=families,
                store=Path(tmp) / "store",
                on_event=listen,
            )
            wall = time.perf_counter() - start
            summary = (load_analysis(Store(Path(tmp) / "store"), result.run_id) or {}).get(
                "ensembles"
            )
            board = result.leaderboard
        print(f"\n{name}: {len(train):,} training rows, {len(test):,} test rows, {metric}, "
              f"budget {args.budget:.0f} s, wall {wall:.0f} s")  # fmt: skip
        print(
            "families done at {:.0f} s, ensembles at {:.0f} s, analysis and report {:.0f}-{:.0f} s"
            .format(marks.get("families", 0), marks.get("ensembles", 0),
                    marks.get("analysis_start", 0), wall)
        )  # fmt: skip
        print(f"{'model':<16}{'kind':<7}{'val':>9}{'test':>9}{'fit s':>8}  note")
        for row in board.to_dict("records"):
            if row["status"] != "completed":
                print(f"{row['model']:<16}{row['kind']:<7}{row['status']:>9}  {row['note']}")
                continue
            print(
                f"{row['model']:<16}{row['kind']:<7}{row['val_score']:>9.4f}"
                f"{row['test_score']:>9.4f}{row['fit_time_s']:>8.1f}  {(row['note'] or '')[:90]}"
            )
        if summary and summary.get("answer"):
            print(f"Does mixing classical and deep models help? {summary['answer']}")
        if args.out:
            record = {
                "dataset": name,
                "budget_s": args.budget,
                "wall_s": round(wall, 1),
                "marks_s": {k: round(v, 1) for k, v in marks.items()},
                "metric": metric,
                "best_model": result.best_model_name,
                "test_by_model": dict(zip(board["model"], board["test_score"], strict=True)),
                "ensembles": summary,
            }
            with open(args.out, "a") as fh:
                fh.write(json.dumps(record, default=str) + "\n")


if __name__ == "__main__":
    main()

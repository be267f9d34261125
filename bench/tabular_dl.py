"""The deep side against the classical side on the peers' tables (issue 17, item 2).

Two measurements on the fixed splits of ``../shared/peers/datasets.py`` (the splits AutoGluon
and FLAML were scored on):

* ``fit`` (default): every family fitted once on the peers' training rows (networks given
  ``--max-time-s`` seconds each) and scored once on the peers' test rows: what each family
  reaches for a fixed training time, without the comparison's cross-validation;
* ``compare``: ``mlvsdl.compare`` on the training rows with ``--budget`` seconds for the whole
  comparison and the peers' test rows as its test split (``test=``): what a user gets.

    python bench/tabular_dl.py [--datasets electricity,adult_census_income]
        [--families lgbm,random_forest,mlp,mlp_plr,ft_transformer,tabm]
        [--mode fit|compare] [--max-time-s 60] [--budget 120] [--out rows.json]

Prints one line per family, then per dataset the best classical (ML) and best deep (DL) test
accuracy and the gap between them. Needs ../shared beside the repository. Torch and LightGBM
use ``MLVSDL_THREADS`` threads (default 1 here).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

# Threads for torch and LightGBM, before mlvsdl.families.ml reads it: on the shared 2-core
# machine two torch threads were 10x slower per epoch than one, spinning against other load.
THREADS = int(os.environ.setdefault("MLVSDL_THREADS", "1"))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402 (after MLVSDL_THREADS)
from _families import run_families, save  # noqa: E402

PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers" / "datasets.py"
DEFAULT_FAMILIES = "linear,lgbm,random_forest,mlp,resmlp,mlp_plr,ft_transformer,tabm"


def peers_datasets() -> Any:
    """The peers' loader module (fixed seeded splits), imported from ``../shared/peers``."""
    if not PEERS.exists():
        sys.exit(f"{PEERS} not found: this benchmark needs ../shared/peers beside the repository.")
    # the loader reads MLVSDL_DATASETS, else a path relative to where it expects to live
    os.environ.setdefault("MLVSDL_DATASETS", str(PEERS.parents[1] / "datasets"))
    spec = importlib.util.spec_from_file_location("peers_datasets", PEERS)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def run_compare(
    name: str, train: Any, test: Any, target: str, families: list[str], budget: float, seed: int
) -> list[dict[str, Any]]:
    """``mlvsdl.compare`` with the peers' test rows as the test split; one row per family."""
    from mlvsdl import compare

    print(f"\n== {name}: compare, budget {budget:.0f} s, families {','.join(families)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-tabdl-") as store:
        start = time.perf_counter()
        result = compare(
            train,
            target=target,
            metric="accuracy",
            time_budget=budget,
            seed=seed,
            families=families,
            store=store,
            test=test,
        )
        wall = time.perf_counter() - start
        board = result.leaderboard
    print(f"  wall {wall:.1f} s")
    rows = []
    for _, r in board.iterrows():
        row = {
            "dataset": name,
            "family": str(r["model"]),
            "kind": str(r["kind"]).lower(),
            "status": str(r["status"]),
            "accuracy": _float(r.get("test_score")),
            "val_accuracy": _float(r.get("val_score")),
            "fit_s": _float(r.get("fit_time_s")),
            "wall_s": wall,
        }
        rows.append(row)
        acc = "   -  " if row["accuracy"] is None else f"{row['accuracy']:.4f}"
        val = "   -  " if row["val_accuracy"] is None else f"{row['val_accuracy']:.4f}"
        fit = "" if row["fit_s"] is None else f"  fit {row['fit_s']:6.1f}s"
        head = f"  {row['family']:<17} {row['kind']:<3} {row['status']:<10}"
        print(f"{head} test {acc}  val {val}{fit}")
    return rows


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def summary(rows: list[dict[str, Any]]) -> None:
    """Best ML and best DL test accuracy per dataset, and the gap in points."""
    print("\n| dataset | best ML | best DL | DL - ML (points) |")
    print("|---|---|---|---|")
    for name in dict.fromkeys(r["dataset"] for r in rows):
        scored = [r for r in rows if r["dataset"] == name and r.get("accuracy") is not None]
        best = {}
        for kind in ("ml", "dl"):
            of_kind = [r for r in scored if r["kind"].lower() == kind]
            best[kind] = max(of_kind, key=lambda r: r["accuracy"]) if of_kind else None
        if best["ml"] and best["dl"]:
            gap = 100 * (best["dl"]["accuracy"] - best["ml"]["accuracy"])
            print(
                f"| {name} | {best['ml']['family']} {best['ml']['accuracy']:.4f} | "
                f"{best['dl']['family']} {best['dl']['accuracy']:.4f} | {gap:+.2f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="electricity,adult_census_income")
    parser.add_argument("--families", default=DEFAULT_FAMILIES)
    parser.add_argument("--mode", choices=("fit", "compare"), default="fit")
    parser.add_argument("--max-time-s", type=float, default=60.0, help="fit: seconds per network")
    parser.add_argument("--budget", type=float, default=120.0, help="compare: whole comparison")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write every row as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(THREADS)
    print(machine())
    loader = peers_datasets()
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    rows: list[dict[str, Any]] = []
    for name in args.datasets.split(","):
        train, test, target, task = loader.load(name)
        if task != "binary":
            print(f"\n== {name}: {task}, skipped (this benchmark reports accuracy)")
            continue
        if args.mode == "fit":
            rows += run_families(name, train, test, target, families, args.max_time_s, args.seed)
        else:
            rows += run_compare(name, train, test, target, families, args.budget, args.seed)
    summary(rows)
    save(rows, args.out)


if __name__ == "__main__":
    main()

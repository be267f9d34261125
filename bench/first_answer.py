"""Time to first answer: when do the first leaderboard rows appear on 100k x 20?

Writes a synthetic 100,000 x 20 mixed table to CSV, then runs `compare` on the file with the
default families and records, from the call, when each candidate's row is final. Target: the
dummy, linear and LightGBM rows within 10 s; networks follow as the budget allows.

    python bench/first_answer.py [--rows 100000] [--budget 120]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine
from data import mixed_table

from mlvsdl import compare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--budget", type=float, default=120)
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.csv"
        mixed_table(args.rows).to_csv(path, index=False)
        seen: list[tuple[float, str, str]] = []
        start = time.perf_counter()

        def listen(event) -> None:
            if event.kind == "trial_end":
                seen.append((time.perf_counter() - start, event.family, event.info["status"]))

        compare(path, "y", time_budget=args.budget, store=Path(tmp) / "store", on_event=listen)
    print(
        f"{args.rows:,} rows x 20 columns from CSV, budget {args.budget:.0f} s; "
        "seconds from the call until each row is final:"
    )
    for elapsed, family, status in seen:
        print(f"  {elapsed:7.2f} s  {family:<14} {status}")
    first = {f: t for t, f, s in seen if s == "completed"}
    core = ["dummy", "linear", "lgbm"]
    if all(k in first for k in core):
        last = max(first[k] for k in core)
        print(
            f"dummy, linear and LightGBM all final after {last:.2f} s (target <= 10 s: "
            f"{'met' if last <= 10 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()

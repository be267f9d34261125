"""Text benchmarks: every text family on banking77, its 10-shot subset, SMS spam, airline tweets.

* ``banking77``: the official train (10,003) / test (3,080) split, 77 intents.
* ``banking77_10shot``: 10 seeded training examples per intent (770 rows), the official test.
* ``sms``: the SMS Spam Collection, seeded stratified 80/20 split (ham/spam).
* ``twitter``: US airline tweets, text + airline columns (mixed text and table), seeded
  stratified 80/20 split, 3 sentiments.

    python bench/text.py [--datasets banking77,sms] [--families tfidf_svm,minilm]
                         [--max-time-s 300] [--seed 0] [--out results.json]

Prints per family: test accuracy, macro F1, MCC, fit and predict seconds. Needs
../shared/datasets beside the repository (or --data DIR).
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine
from _families import run_families, save, stratified_split

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
TARGET = "label"


def banking77(data: Path, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    train = pd.read_csv(data / "banking77" / "train.csv").rename(columns={"category": TARGET})
    test = pd.read_csv(data / "banking77" / "test.csv").rename(columns={"category": TARGET})
    return train, test


def banking77_10shot(data: Path, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = banking77(data, seed)
    few = train.groupby(TARGET, group_keys=False).sample(n=10, random_state=seed)
    return few.reset_index(drop=True), test


def sms(data: Path, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(
        data / "sms_spam_collection" / "SMSSpamCollection",
        sep="\t",
        header=None,
        names=[TARGET, "text"],
        quoting=csv.QUOTE_NONE,
    )
    return stratified_split(frame, TARGET, 0.2, seed)


def twitter(data: Path, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(data / "twitter_us_airline_sentiment" / "Tweets.csv.gz")
    frame = frame[["text", "airline", "airline_sentiment"]].rename(
        columns={"airline_sentiment": TARGET}
    )
    return stratified_split(frame, TARGET, 0.2, seed)


DATASETS = {
    "banking77": banking77,
    "banking77_10shot": banking77_10shot,
    "sms": sms,
    "twitter": twitter,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--families", default=None, help="comma-separated keys [all text]")
    parser.add_argument("--max-time-s", type=float, default=300, help="per network")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", default=None, help="write the rows as JSON here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(machine())
    families = args.families.split(",") if args.families else None
    rows = []
    for name in args.datasets.split(","):
        train, test = DATASETS[name](args.data, args.seed)
        rows += run_families(name, train, test, TARGET, families, args.max_time_s, args.seed)
    save(rows, args.out)


if __name__ == "__main__":
    main()

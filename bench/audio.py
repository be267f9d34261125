"""Audio benchmark: every audio family on the Free Spoken Digit Dataset (3,000 WAV, 8 kHz).

Splits: the dataset's README split (recordings with index 0-4 are the test set, 300 files;
5-49 train, 2,700; ``--no-readme`` skips it), and speaker held out, where no test speaker is
ever heard in training (file names are ``{digit}_{speaker}_{index}.wav``):

* ``--speakers all``: each of the 6 speakers in turn is the test set, the other 5 train; the
  mean over speakers is printed last (6 fits per family);
* ``--speakers split``: one split, 2 of the 6 speakers (drawn with ``--seed``) are the test set
  (1,000 files), the other 4 train (2,000): one fit per family;
* ``--speakers NAME[,NAME...]``: one split with those speakers held out; ``none``: no speaker
  split.

The archive is extracted to a temporary folder at run time.

    python bench/audio.py [--families mfcc_svm,audio_cnn] [--max-time-s 300] [--no-readme]
                          [--speakers all|split|none|NAME[,NAME...]] [--out results.json]
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine
from _families import run_families, save

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
NAME = re.compile(r"^(?P<label>\d)_(?P<speaker>[a-z]+)_(?P<index>\d+)\.wav$")


def fsdd(data: Path, folder: Path) -> pd.DataFrame:
    with tarfile.open(data / "fsdd" / "recordings.tar.gz") as archive:
        archive.extractall(folder, filter="data")
    rows = []
    for path in sorted(folder.rglob("*.wav")):
        match = NAME.match(path.name)
        if match:
            rows.append({"audio": str(path), **match.groupdict()})
    frame = pd.DataFrame(rows)
    frame["index"] = frame["index"].astype(int)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=None, help="comma-separated keys [all audio]")
    parser.add_argument("--max-time-s", type=float, default=300, help="per network")
    parser.add_argument(
        "--speakers", default="all", help="all (each in turn), split (2 drawn), none, or names"
    )
    parser.add_argument(
        "--readme", action=argparse.BooleanOptionalAction, default=True, help="README split"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(machine())
    families = args.families.split(",") if args.families else None
    with tempfile.TemporaryDirectory() as tmp:
        frame = fsdd(args.data, Path(tmp))
        columns = ["audio", "label"]
        rows = []
        if args.readme:
            test = frame["index"] < 5
            rows = run_families(
                "fsdd (index 0-4 test)",
                frame.loc[~test, columns],
                frame.loc[test, columns],
                "label",
                families,
                args.max_time_s,
                args.seed,
            )
        names = sorted(frame["speaker"].unique())
        if args.speakers == "all":
            groups = [[name] for name in names]
        elif args.speakers == "split":
            drawn = np.random.default_rng(args.seed).choice(names, size=2, replace=False)
            groups = [sorted(str(name) for name in drawn)]
        elif args.speakers == "none":
            groups = []
        else:
            groups = [args.speakers.split(",")]
            unknown = set(groups[0]) - set(names)
            if unknown:
                parser.error(f"unknown speaker(s) {sorted(unknown)}; the speakers are {names}")
        held = []
        for group in groups:
            out = frame["speaker"].isin(group)
            held += run_families(
                f"fsdd (speaker{'s' if len(group) > 1 else ''} {', '.join(group)} held out)",
                frame.loc[~out, columns],
                frame.loc[out, columns],
                "label",
                families,
                args.max_time_s,
                args.seed,
            )
        if len(groups) > 1:
            table = pd.DataFrame([r for r in held if "accuracy" in r])
            print("\n== fsdd speaker held out, mean over speakers")
            print(table.groupby("family")[["accuracy", "macro_f1", "fit_s"]].mean().round(4))
        save(rows + held, args.out)


if __name__ == "__main__":
    main()

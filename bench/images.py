"""Image benchmark: every image family on the MNIST test set (10,000 digits, 28 x 28).

The 10k images are split seeded and stratified into 8,000 training and 2,000 test images; each
family is fitted once on the training part and scored on the test part.

    python bench/images.py [--families image_svm,image_cnn] [--max-time-s 600] [--seed 0]
                           [--n 10000] [--out results.json]
"""

from __future__ import annotations

import argparse
import gzip
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine
from _families import run_families, save, stratified_split

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST's format): a magic number, the dimensions, then uint8 values."""
    raw = gzip.decompress(path.read_bytes())
    n_dims = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(dims)


def mnist(data: Path, n: int) -> pd.DataFrame:
    folder = data / "mnist_test10k"
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")[:n]
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")[:n]
    return pd.DataFrame({"image": list(images), "label": labels.astype(int)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=None, help="comma-separated keys [all image]")
    parser.add_argument("--max-time-s", type=float, default=600, help="per network")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=10_000, help="images used (of 10,000)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(machine())
    train, test = stratified_split(mnist(args.data, args.n), "label", 0.2, args.seed)
    families = args.families.split(",") if args.families else None
    rows = run_families("mnist_test10k", train, test, "label", families, args.max_time_s, args.seed)
    save(rows, args.out)


if __name__ == "__main__":
    main()

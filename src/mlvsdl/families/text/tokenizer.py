"""A word tokenizer learned from the training texts, for the networks trained from scratch.

Text is lowercased and split into words (letters/digits runs, keeping inner apostrophes) and
single punctuation marks; digits are kept. The vocabulary is every token seen at least
``min_count`` times, most frequent first, capped at ``max_size``; ids 0 and 1 are padding and
unknown. fastText-style networks also get hashed word bigrams (a fixed multiplicative hash,
stable across processes).

The learned state is a plain tuple of strings, so it is stored as is in the model artifact.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "PAD",
    "UNK",
    "WORD",
    "bigram_ids",
    "build_vocabulary",
    "encode",
    "sequence_length",
    "tokenize",
]

PAD, UNK = 0, 1
SPECIALS = ("<pad>", "<unk>")
# A word as the text networks read it: a run of letters and digits (apostrophes inside kept),
# or a single punctuation mark. The explainers locate words in a text with the same pattern.
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lowercased words and punctuation marks of ``text``."""
    return WORD.findall(text.lower())


def build_vocabulary(
    texts: Iterable[str], *, max_size: int = 30_000, min_count: int = 1
) -> tuple[str, ...]:
    """The tokens of ``texts`` by frequency (ties alphabetical), after the two special ids."""
    counts = Counter(token for text in texts for token in tokenize(text))
    ranked = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return (*SPECIALS, *ranked[: max(0, max_size - len(SPECIALS))])


def encode(texts: Sequence[str], vocabulary: Sequence[str], max_len: int) -> np.ndarray:
    """Token ids, shape (n, max_len): truncated, padded with ``PAD`` on the right."""
    index = {token: i for i, token in enumerate(vocabulary)}
    out = np.zeros((len(texts), max_len), dtype=np.int64)
    for row, text in enumerate(texts):
        ids = [index.get(t, UNK) for t in tokenize(text)[:max_len]]
        out[row, : len(ids)] = ids
    return out


def bigram_ids(token_ids: np.ndarray, vocab_size: int, n_buckets: int) -> np.ndarray:
    """Hashed ids of adjacent token pairs, offset past the vocabulary; ``PAD`` where none."""
    left, right = token_ids[:, :-1].astype(np.uint64), token_ids[:, 1:].astype(np.uint64)
    with np.errstate(over="ignore"):  # multiplicative hashing wraps around on purpose
        hashed = (left * np.uint64(2_654_435_761)) ^ (right * np.uint64(40_503))
    hashed = (hashed % np.uint64(n_buckets)).astype(np.int64)
    ids = vocab_size + hashed % n_buckets
    return np.where((left != PAD) & (right != PAD), ids, PAD).astype(np.int64)


def sequence_length(texts: Sequence[str], *, quantile: float = 0.95, cap: int = 256) -> int:
    """Tokens kept per text: the ``quantile`` of training lengths, between 8 and ``cap``."""
    lengths = np.fromiter((len(tokenize(t)) for t in texts), dtype=np.int64, count=len(texts))
    if lengths.size == 0:
        return 8
    return int(np.clip(np.ceil(np.quantile(lengths, quantile)), 8, cap))

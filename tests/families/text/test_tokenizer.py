"""The word tokenizer learned from training texts."""

from __future__ import annotations

import numpy as np

from mlvsdl.families.text.tokenizer import (
    PAD,
    UNK,
    bigram_ids,
    build_vocabulary,
    encode,
    sequence_length,
    tokenize,
)


def test_tokenize_lowercases_and_splits_punctuation():
    assert tokenize("I can't pay £20, why?!") == [
        "i",
        "can't",
        "pay",
        "£",
        "20",
        ",",
        "why",
        "?",
        "!",
    ]


def test_vocabulary_by_frequency_then_alphabet_with_specials_first():
    vocab = build_vocabulary(["b a a", "c b a", "d"], max_size=5)
    assert vocab == ("<pad>", "<unk>", "a", "b", "c")
    assert build_vocabulary(["x y y"], min_count=2) == ("<pad>", "<unk>", "y")


def test_encode_pads_truncates_and_marks_unknown_words():
    vocab = ("<pad>", "<unk>", "card", "lost")
    ids = encode(["lost card", "lost my card again and again", ""], vocab, max_len=4)
    assert ids.tolist() == [[3, 2, PAD, PAD], [3, UNK, 2, UNK], [PAD] * 4]


def test_bigram_ids_are_stable_in_range_and_padding_aware():
    ids = np.array([[2, 3, 4, 0], [2, 3, 0, 0]])
    bigrams = bigram_ids(ids, vocab_size=10, n_buckets=7)
    assert bigrams.shape == (2, 3)
    assert bigrams[0, 0] == bigrams[1, 0]  # same pair, same id, in every process
    assert ((bigrams[0] >= 10) & (bigrams[0] < 17))[:2].all()
    assert bigrams[0, 2] == PAD and bigrams[1, 1] == PAD


def test_sequence_length_follows_the_data_within_bounds():
    assert sequence_length(["a b"] * 10) == 8
    assert sequence_length([" ".join(["w"] * 40)] * 10) == 40
    assert sequence_length([" ".join(["w"] * 400)], cap=64) == 64

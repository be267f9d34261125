"""The command line on a folder of WAV files: compare, then predict a new file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import soundfile

from tests.families.audio.test_audio import PITCH, RATE, tone
from tests.test_cli import run_cli


def test_cli_compare_folder_and_predict_new_file(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(3)
    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(20):
        label = ["low", "high"][i % 2]
        soundfile.write(clips / f"{label}_{i}.wav", tone(PITCH[label], rng), RATE)
    soundfile.write(tmp_path / "new.wav", tone(PITCH["low"], rng), RATE)
    store = str(tmp_path / "store")
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "compare",
        str(clips),
        "--label-from-name",
        "{label}_*.wav",
        "--families",
        "dummy,mfcc_logreg",
        "--cv",
        "2",
        "--store",
        store,
    )
    assert code == 0, err
    assert "audio data" in out and "MFCC stats" in out
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "predict",
        "latest",
        str(tmp_path / "new.wav"),
        "--store",
        store,
        "-o",
        str(tmp_path / "p.csv"),
    )
    assert code == 0, err
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert predictions["prediction"].tolist() == ["low"]
    assert predictions["audio"].iloc[0].endswith("new.wav")
    code, _, err = run_cli(
        monkeypatch, capsys, "compare", str(tmp_path / "p.csv"), "--store", store
    )
    assert code == 2 and "--target" in err

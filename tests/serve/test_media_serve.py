"""Serving image and audio runs: files as multipart uploads or base64 in JSON, checked like fields.

Small runs made in the test (scikit-learn's digits as PNGs, synthesized tones as WAVs) with the
fastest families; predictions over HTTP must equal the in-process ``predict`` on the same files.
"""

from __future__ import annotations

import base64
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile
from fastapi.testclient import TestClient
from PIL import Image
from sklearn.datasets import load_digits

from mlvsdl.compare import compare
from mlvsdl.data.media import media_column
from mlvsdl.result import load_run
from mlvsdl.serve import create_app
from tests.serve.browser import find_chromium
from tests.serve.conftest import SERVED_ATOL, SERVED_RTOL, assert_same_answers, live_server

RATE = 8000
PITCH = {"low": 300.0, "high": 1500.0}


def b64(data: bytes) -> dict[str, str]:
    return {"base64": base64.b64encode(data).decode()}


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def wav(samples: np.ndarray, rate: int = RATE) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV")
    return buffer.getvalue()


def tone(f0: float, rng: np.random.Generator, rate: int = RATE, seconds: float = 0.4):
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.5 * np.sin(2 * np.pi * f0 * (1 + 0.03 * rng.normal()) * t)
    return (wave + 0.02 * rng.normal(size=t.size)).astype(np.float32)


def answers(body: dict) -> tuple[list, np.ndarray]:
    predictions = body["predictions"]
    keys = list(predictions[0]["probabilities"])
    proba = np.array([[p["probabilities"][k] for k in keys] for p in predictions])
    return [p["prediction"] for p in predictions], proba


def expected(store: Path, run_id: str, files: list[Path]) -> tuple[list, np.ndarray]:
    """The in-process prediction (what 'mlvsdl predict' writes) for ``files``."""
    result = load_run(run_id, store)
    column = media_column(result.schema)
    out = result.predict(pd.DataFrame({column: [str(f) for f in files]}))
    proba = out[[c for c in out.columns if c.startswith("proba_")]].to_numpy()
    return [p.item() if hasattr(p, "item") else p for p in out["prediction"]], proba


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """Digits 0/1 as 8 x 8 PNGs in class folders; dummy + image_logreg; 6 new files to predict."""
    root = tmp_path_factory.mktemp("media-serve")
    digits = load_digits()
    keep = np.flatnonzero(np.isin(digits.target, [0, 1]))[:66]
    pixels = (digits.images * 16).clip(0, 255).astype(np.uint8)
    for i in keep[:60]:
        folder = root / "digits" / str(digits.target[i])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.png").write_bytes(png(pixels[i]))
    new = root / "new"
    new.mkdir()
    files = []
    for j, i in enumerate(keep[60:]):
        image = pixels[i] if j % 2 else np.stack([pixels[i]] * 3, axis=-1)  # gray and RGB
        if j == 5:
            image = np.kron(pixels[i], np.ones((3, 3), dtype=np.uint8))  # 24 x 24: resized
        files.append(new / f"{j}.png")
        files[-1].write_bytes(png(image))
    store = root / "store"
    result = compare(
        str(root / "digits"), families=["dummy", "image_logreg"], cv=2, time_budget=60, store=store
    )
    return store, result.run_id, files


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory):
    """Low and high tones (8 kHz WAVs); dummy + mfcc_logreg; new files at other rates, stereo."""
    root = tmp_path_factory.mktemp("media-serve-audio")
    rng = np.random.default_rng(0)
    clips = root / "clips"
    for i in range(24):
        label = ["low", "high"][i % 2]
        (clips / label).mkdir(parents=True, exist_ok=True)
        (clips / label / f"{i}.wav").write_bytes(wav(tone(PITCH[label], rng)))
    new = root / "new"
    new.mkdir()
    files = [new / "low.wav", new / "high16k.wav", new / "stereo.wav"]
    files[0].write_bytes(wav(tone(PITCH["low"], rng)))
    files[1].write_bytes(wav(tone(PITCH["high"], rng, rate=16_000), 16_000))
    stereo = np.stack([tone(PITCH["low"], rng), tone(PITCH["low"], rng)], axis=1)
    files[2].write_bytes(wav(stereo))
    store = root / "store"
    result = compare(
        str(clips), families=["dummy", "mfcc_logreg"], cv=2, time_budget=60, store=store
    )
    return store, result.run_id, files


@pytest.fixture(scope="module")
def image_client(image_run):
    store, run_id, _ = image_run
    with TestClient(create_app(run_id, store)) as client:
        yield client


@pytest.fixture(scope="module")
def audio_client(audio_run):
    store, run_id, _ = audio_run
    with TestClient(create_app(run_id, store)) as client:
        yield client


def test_schema_describes_the_file_input(image_client, image_run, audio_client):
    store, run_id, _ = image_run
    schema = image_client.get("/schema").json()
    assert schema["modality"] == "image" and schema["explain"] is False
    assert "not available for image models" in schema["explain_unavailable"]
    (field,) = schema["fields"]
    assert field["name"] == "image" and field["widget"] == "image" and field["required"]
    assert field["file"]["multipart_fields"] == ["image", "file"]
    assert ".png" in field["file"]["formats"] and field["file"]["json"].keys() == {"base64"}
    assert field["file"]["brought_to"] == load_run(run_id, store).schema.media
    audio = audio_client.get("/schema").json()["fields"][0]
    assert audio["widget"] == "audio" and ".wav" in audio["file"]["formats"]
    assert set(audio["file"]["brought_to"]) == {"sample_rate", "duration_s"}
    spec = image_client.get("/openapi.json").json()["paths"]["/predict"]["post"]["requestBody"]
    assert set(spec["content"]) == {"application/json", "multipart/form-data"}
    assert set(spec["content"]["multipart/form-data"]["schema"]["properties"]) == {"image", "file"}


def test_image_uploads_and_base64_match_the_in_process_prediction(image_client, image_run):
    store, run_id, files = image_run
    labels, proba = expected(store, run_id, files)
    uploads = [("image", (f.name, f.read_bytes(), "image/png")) for f in files]
    by_upload = image_client.post("/predict", files=uploads)
    assert by_upload.status_code == 200, by_upload.text
    by_json = image_client.post("/predict", json=[{"image": b64(f.read_bytes())} for f in files])
    assert by_json.status_code == 200, by_json.text
    for body in (by_upload.json(), by_json.json()):
        got_labels, got_proba = answers(body)
        assert got_labels == labels
        np.testing.assert_allclose(got_proba, proba, rtol=SERVED_RTOL, atol=SERVED_ATOL)
    one = image_client.post("/predict", files={"file": ("x.png", files[0].read_bytes())}).json()
    assert_same_answers(one["predictions"], by_json.json()["predictions"][:1])
    data_url = "data:image/png;base64," + b64(files[0].read_bytes())["base64"]
    single = image_client.post("/predict", json={"image": {"base64": data_url}, "label": "0"})
    assert_same_answers(single.json()["predictions"], one["predictions"])
    as_csv = image_client.post("/predict", files=uploads[:2], headers={"accept": "text/csv"})
    assert as_csv.text.splitlines()[0] == "prediction,proba_0,proba_1"


def test_audio_uploads_and_base64_match_the_in_process_prediction(audio_client, audio_run):
    store, run_id, files = audio_run  # 8 kHz, 16 kHz (resampled) and stereo (mixed down)
    labels, proba = expected(store, run_id, files)
    assert labels == ["low", "high", "low"]
    uploads = [("audio", (f.name, f.read_bytes(), "audio/wav")) for f in files]
    by_upload = audio_client.post("/predict", files=uploads).json()
    by_json = audio_client.post("/predict", json=[{"audio": b64(f.read_bytes())} for f in files])
    for body in (by_upload, by_json.json()):
        got_labels, got_proba = answers(body)
        assert got_labels == labels
        np.testing.assert_allclose(got_proba, proba, rtol=SERVED_RTOL, atol=SERVED_ATOL)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"image": {"base64": "not base64!"}}, "not valid base64"),
        ({"image": b64(b"\x89PNG\r\n\x1a\n not an image")}, "not a readable image"),
        ({"image": b64(b"")}, "the file is empty"),
        ({"image": "/etc/passwd"}, "the server does not read files by path"),
        ({"image": 3}, "got a number"),
        ({"image": {"base64": 3}}, "'base64' must be text"),
        ({"image": {"base64": "", "path": "x"}}, "unknown key(s) 'path'"),
        ({"image": None}, "missing"),
        ({}, "missing: this model needs an image file"),
        ({"image": {"base64": "data:image/png,abc"}}, "data URL must be base64"),
    ],
)
def test_bad_json_files_get_422_naming_the_field(image_client, body, message):
    answer = image_client.post("/predict", json=body)
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["body", "image"] and message in error["msg"]


def test_a_truncated_image_and_a_corrupt_wav_get_422(image_client, image_run, audio_client):
    _, _, files = image_run
    good = files[0].read_bytes()
    uploads = [
        ("image", ("ok.png", good, "image/png")),
        ("image", ("cut.png", good[: len(good) // 2], "image/png")),
    ]
    answer = image_client.post("/predict", files=uploads)
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["body", 1, "image"]
    assert error["msg"].startswith("cut.png: not a readable image")
    ppm = io.BytesIO()
    Image.new("L", (8, 8)).save(ppm, format="PPM")  # Pillow reads it, the server does not
    other = image_client.post("/predict", json={"image": b64(ppm.getvalue())})
    assert other.status_code == 422 and "not a readable image" in other.text
    broken = audio_client.post("/predict", files={"audio": ("x.wav", b"RIFF\x00\x00WAVEjunk")})
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["msg"] == "x.wav: not readable audio (WAV, FLAC or OGG)"
    as_json = audio_client.post("/predict", json={"audio": b64(b"RIFF")})
    assert as_json.status_code == 422 and as_json.json()["detail"][0]["loc"] == ["body", "audio"]


def test_bad_multipart_requests_are_answered(image_client, image_run):
    _, _, files = image_run
    good = files[0].read_bytes()
    wrong_field = image_client.post("/predict", files={"photo": ("a.png", good)})
    assert wrong_field.status_code == 422 and "'image'" in wrong_field.json()["detail"]
    no_file = image_client.post("/predict", data={"label": "0"}, files={"x": ("", b"")})
    assert no_file.status_code == 422
    text_not_file = image_client.post("/predict", data={"image": "a.png"}, files={"file": good})
    assert text_not_file.status_code == 422
    assert text_not_file.json()["detail"][0]["msg"].startswith("must be a file upload")
    unknown = image_client.post("/predict", data={"colour": "red"}, files={"file": good})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "colour"]
    csv = image_client.post(
        "/predict", content=b"image\na.png\n", headers={"content-type": "text/csv"}
    )
    assert csv.status_code == 415 and "multipart/form-data" in csv.json()["detail"]


def test_oversized_uploads_get_413(image_run):
    store, run_id, files = image_run
    small = TestClient(create_app(run_id, store, max_body_bytes=2000))
    noise = np.random.default_rng(0).integers(0, 255, (60, 60), dtype=np.uint8)
    big = png(noise)
    assert len(big) > 2000
    answer = small.post("/predict", files={"image": ("big.png", big)})
    assert answer.status_code == 413 and "limit of 2,000 bytes" in answer.json()["detail"]
    payload = json.dumps({"image": b64(big)}).encode()
    chunked = small.post(  # no Content-Length: counted while read
        "/predict",
        content=iter([payload[:1500], payload[1500:]]),
        headers={"content-type": "application/json"},
    )
    assert chunked.status_code == 413
    assert small.post("/predict", files={"image": ("a.png", files[0].read_bytes())}).is_success


def test_explain_is_refused_clearly_for_media(image_client, image_run):
    _, _, files = image_run
    answer = image_client.post("/explain", files={"image": ("a.png", files[0].read_bytes())})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("/explain is not available for image models")


def test_decoder_failures_do_not_leak_or_crash(image_client, image_run, monkeypatch):
    from mlvsdl.serve import files as served_files

    def broken(content):
        raise RuntimeError("secret internal path /srv/models")

    monkeypatch.setattr(served_files, "decode_image", broken)
    _, _, files = image_run
    answer = image_client.post("/predict", json={"image": b64(files[0].read_bytes())})
    assert answer.status_code == 422 and "secret" not in answer.text
    assert answer.json()["detail"][0]["msg"].startswith("not a readable image")


def test_large_uploads_leave_no_temporary_files(image_client, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where spooled uploads would go
    noise = np.random.default_rng(1).integers(0, 255, (700, 700, 3), dtype=np.uint8)
    big = png(noise)
    assert len(big) > 1024 * 1024  # past Starlette's in-memory spool size
    answer = image_client.post("/predict", files={"image": ("big.png", big)})
    assert answer.status_code == 200
    assert list(tmp_path.iterdir()) == []


def test_text_runs_still_take_text_fields(tmp_path):
    rng = np.random.default_rng(0)
    words = {"yes": ["great", "good", "fine", "love"], "no": ["bad", "awful", "poor", "hate"]}
    labels = rng.choice(["yes", "no"], size=80)
    texts = [" ".join(rng.choice(words[y], size=4)) + " service" for y in labels]
    frame = pd.DataFrame({"review": texts, "y": labels})
    result = compare(
        frame, "y", families=["dummy", "tfidf_logreg"], cv=2, time_budget=60, store=tmp_path
    )
    client = TestClient(create_app(result.run_id, tmp_path))
    new = pd.DataFrame({"review": ["good great service", "awful poor service"]})
    body = client.post("/predict", json=new.to_dict("records")).json()
    want = result.predict(new)
    assert [p["prediction"] for p in body["predictions"]] == want["prediction"].tolist()
    assert client.get("/schema").json()["fields"][0]["widget"] == "text"
    assert client.post("/explain", json={"review": "good great service"}).status_code == 200


@pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed")
def test_page_uploads_a_file_and_shows_the_prediction(image_run, tmp_path):
    pytest.importorskip("websocket", reason="needs websocket-client (in the test extra)")
    from tests.serve.browser import Chromium

    store, run_id, files = image_run
    labels, _ = expected(store, run_id, files[:1])
    status = "document.getElementById('status').textContent"
    content = base64.b64encode(files[0].read_bytes()).decode()
    choose = f"""(() => {{
        const input = document.querySelector('input[type=file]');
        const bytes = Uint8Array.from(atob({content!r}), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "digit.png", {{ type: "image/png" }}));
        input.files = transfer.files;
        input.dispatchEvent(new Event("change"));
        return input.files.length;
    }})()"""
    with (
        live_server(create_app(run_id, store)) as url,
        Chromium(str(find_chromium()), tmp_path) as browser,
    ):
        browser.open(url + "/")
        assert browser.wait_for(f"{status} === 'ready' && {status}") == "ready"
        assert browser.evaluate("document.querySelector('input[type=file]').accept").startswith(
            "image/*"
        )
        browser.evaluate("document.getElementById('predict').click()")  # no file chosen yet
        assert browser.wait_for(f"['done', 'error'].includes({status}) && {status}") == "error"
        assert "missing" in browser.evaluate("document.querySelector('.fielderror').textContent")
        assert browser.evaluate(choose) == 1
        assert browser.evaluate("document.querySelector('.holder img') !== null")
        browser.evaluate(f"{status} = ''")
        browser.evaluate("document.getElementById('predict').click()")
        assert browser.wait_for(f"['done', 'error'].includes({status}) && {status}") == "done"
        shown = browser.evaluate("document.getElementById('prediction').textContent")
        assert shown == f"label: {labels[0]}"
        explained = browser.evaluate("document.getElementById('explained').textContent")
        assert "not available for image models" in explained
        assert [e for e in browser.errors() if "status of 422" not in e] == []  # the first try

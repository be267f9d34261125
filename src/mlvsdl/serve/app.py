"""The HTTP API over one stored model: ``create_app`` builds a FastAPI app for a run.

Endpoints (all JSON unless said otherwise):

    GET  /          a web page to try predictions by hand (form built from /schema)
    GET  /health    liveness; always public
    GET  /models    the run's leaderboard and which model is served
    GET  /schema    the fields a request may carry, their kinds, typical values and levels
    POST /predict   one record (JSON object), many (JSON array), CSV or a multipart 'file';
                    for image and audio runs: files as multipart uploads, or base64 in JSON
    POST /explain   one record -> prediction and per-feature contributions (tables and text)
    GET  /sample    synthesize runs: new rows (?rows=N&condition=col=value&seed=S)
    GET  /report    the run's HTML report, when one was built
    GET  /docs      OpenAPI documentation (/openapi.json)

Every error answers ``{"detail": ...}``: 401 (token), 413 (body too large), 415 (content
type), 422 (invalid input, or a field absent that was never missing in training, with one
message per field), 404, 409; an unexpected failure answers a
generic 500 and is logged with its traceback, never sent to the client. The model is loaded
once; requests of at most ``INLINE_ROWS`` rows (``INLINE_BYTES`` of body) are parsed and
predicted on the event loop (no thread hop), larger ones in the thread pool.

Image and audio runs take each file's content, never a path (see :mod:`mlvsdl.serve.files`):
multipart parts named after the media column or ``file`` (one record per file), or JSON records
whose media field is ``{"base64": "..."}``. Files are decoded in memory, in the thread pool.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from mlvsdl import __version__
from mlvsdl.errors import DataError, StoreError
from mlvsdl.serve.files import DEFAULT_FILE_FIELD, MAX_FILES, Upload
from mlvsdl.serve.middleware import BearerAuth, BodyLimit, BodyTooLarge
from mlvsdl.serve.model import ServedModel, load_served_model
from mlvsdl.serve.page import PAGE_HTML
from mlvsdl.serve.sample import add_sample_route
from mlvsdl.serve.schemas import RequestError, parse_csv, parse_json
from mlvsdl.types import Task

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "INLINE_BYTES",
    "INLINE_ROWS",
    "PUBLIC_PATHS",
    "build_app",
    "create_app",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
INLINE_ROWS = 64
INLINE_BYTES = 64 * 1024
PUBLIC_PATHS = frozenset({"/", "/health"})
_CSV_TYPES = {"text/csv": ",", "application/csv": ",", "text/tab-separated-values": "\t"}
_JSON_TYPES = {"", "application/json", "text/json"}


def create_app(
    run_id: str,
    store: str | os.PathLike[str] | None = None,
    model: str | None = None,
    token: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    allow_missing: bool = False,
) -> FastAPI:
    """A FastAPI app serving ``model`` (default: the best) of run ``run_id``.

    Args:
        run_id: a run id of the store (validated; it cannot name another path).
        store: store directory (``$MLVSDL_STORE`` or ``./mlvsdl-runs`` when None).
        model: model name in the run; the best-ranked one when None.
        token: when set, every endpoint but ``/`` and ``/health`` needs
            ``Authorization: Bearer <token>``.
        max_body_bytes: larger request bodies are refused with 413.
        allow_missing: accept records without the fields that had a value in every training
            row (each answer lists them under ``imputed``); by default they are required.
    """
    served = load_served_model(run_id, store, model, allow_missing=allow_missing)
    return build_app(served, token=token, max_body_bytes=max_body_bytes)


def build_app(
    served: ServedModel, *, token: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> FastAPI:
    """The app for an already loaded :class:`ServedModel` (see :func:`create_app`)."""
    if served.media_columns:
        column = served.media_columns[0]
        how = (
            f"Send {served.schema.modality} files as multipart/form-data (field `{column}` or "
            f"`{DEFAULT_FILE_FIELD}`, one or several files), or as JSON records whose `{column}` "
            'is `{"base64": "<the file\'s bytes>"}`'
        )
    else:
        how = (
            "Send records as JSON (an object or an array of objects), CSV text, or a CSV file as "
            "multipart field `file`"
        )
    app = FastAPI(
        title=f"mlvsdl: {served.name} of run {served.run_id}",
        version=__version__,
        description=f"{served.purpose} ({served.schema.task}). "
        f"{how}; GET /schema lists the fields.",
    )
    app.state.served = served
    _add_routes(app, served)
    if served.schema.task is Task.FORECAST:
        from mlvsdl.serve.forecast import add_forecast_route

        add_forecast_route(app, served)
    add_sample_route(app, served)  # /sample: synthesize runs only
    _add_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if token:
        app.add_middleware(BearerAuth, token=token, public=PUBLIC_PATHS)
    return app


def _body_spec(served: ServedModel) -> dict[str, Any]:
    binary = {"type": "string", "format": "binary"}
    if served.media_columns:
        files = {"type": "array", "items": binary, "maxItems": MAX_FILES}
        names = dict.fromkeys([served.media_columns[0], DEFAULT_FILE_FIELD])
        multipart = {"type": "object", "properties": dict.fromkeys(names, files)}
        content = {
            "application/json": {"schema": served.validator.json_schema()},
            "multipart/form-data": {"schema": multipart},
        }
    else:
        multipart = {"type": "object", "properties": {"file": binary}}
        content = {
            "application/json": {"schema": served.validator.json_schema()},
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {"schema": multipart},
        }
    return {"requestBody": {"required": True, "content": content}}


def _add_routes(app: FastAPI, served: ServedModel) -> None:
    spec = _body_spec(served)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(PAGE_HTML)

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Liveness: the model is loaded and the server answers."""
        return {"status": "ok"}

    @app.get("/models")
    async def models() -> dict[str, Any]:
        """The run's leaderboard and the model this server answers with."""
        return {"run_id": served.run_id, "served": served.name, "models": served.leaderboard}

    @app.get("/schema")
    async def schema() -> dict[str, Any]:
        """Fields a request may carry: kind, typical value, known category levels."""
        return served.describe()

    @app.post("/predict", openapi_extra=spec)
    async def predict(request: Request) -> Response:
        """Predictions (and class probabilities) for one or many records."""
        rows = await _read_rows(request, served)
        answer = await _call(served.answer, rows, always_pooled=bool(served.media_columns))
        if "text/csv" in request.headers.get("accept", ""):
            csv_text = _to_csv(answer["predictions"], served.class_keys)
            return Response(csv_text, media_type="text/csv")
        return JSONResponse(answer)

    @app.post("/explain", openapi_extra=spec)
    async def explain(request: Request) -> dict[str, Any]:
        """Prediction for ONE record with each feature's contribution to it."""
        if served.media_columns:  # refused before the body is read and decoded
            raise RequestError(422, served.explain_unavailable)
        rows = await _read_rows(request, served)
        if len(rows) != 1:
            raise RequestError(422, f"/explain takes exactly one record, got {len(rows)}.")
        return {"model": served.name, **(await _call(served.explain, rows[0]))}

    @app.get("/report", response_class=HTMLResponse)
    async def report() -> Response:
        """The run's HTML report (built by 'mlvsdl report'), if there is one."""
        path = served.report_path
        if path is None or not path.is_file():
            raise RequestError(
                404, f"run {served.run_id} has no HTML report yet; build it with 'mlvsdl report'."
            )
        return FileResponse(path, media_type="text/html")

    if served.schema.task == "recommend":  # GET /recommend and /similar
        from mlvsdl.serve.recommend import add_recommend_routes

        add_recommend_routes(app, served)


async def _call(function: Any, rows: Any, *, always_pooled: bool = False) -> Any:
    """Run ``function(rows)`` inline when small, else (or for media) in the thread pool."""
    size = len(rows) if isinstance(rows, list) else 1
    if size <= INLINE_ROWS and not always_pooled:
        return function(rows)
    return await run_in_threadpool(function, rows)


async def _read_rows(request: Request, served: ServedModel) -> list[dict[str, Any]]:
    """Validated rows from a JSON, CSV or multipart body (any problem: RequestError).

    Bodies over ``INLINE_BYTES`` are parsed and validated in the thread pool.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if served.media_columns:
        return await _read_media_rows(request, served, content_type)
    if content_type in _JSON_TYPES or content_type in _CSV_TYPES:
        body = await request.body()
    elif content_type == "multipart/form-data":
        body, content_type = await _uploaded_file(request), "text/csv"
    else:
        raise RequestError(
            415,
            f"unsupported content type {content_type[:60]!r}; send application/json, text/csv "
            "or multipart/form-data with a CSV 'file' (with curl: -H 'Content-Type: "
            "application/json').",
        )
    if len(body) <= INLINE_BYTES:
        return _parse(served, content_type, body)
    return await run_in_threadpool(_parse, served, content_type, body)


def _parse(served: ServedModel, content_type: str, body: bytes) -> list[dict[str, Any]]:
    if content_type in _CSV_TYPES:
        records, single = parse_csv(body, sep=_CSV_TYPES[content_type]), False
    else:
        records, single = parse_json(body)
    return served.validator.validate(records, single=single)


async def _read_media_rows(
    request: Request, served: ServedModel, content_type: str
) -> list[dict[str, Any]]:
    """Validated rows of an image or audio run: multipart uploads, or JSON with base64 files.

    Every file is decoded while it is validated, in the thread pool.
    """
    column = served.media_columns[0]
    if content_type in _JSON_TYPES:
        body = await request.body()
        return await run_in_threadpool(_parse, served, content_type, body)
    if content_type != "multipart/form-data":
        raise RequestError(
            415,
            f"unsupported content type {content_type[:60]!r} for this {served.schema.modality} "
            f"model; upload files as multipart/form-data (curl: -F '{column}=@file') or send "
            f'JSON with {{"{column}": {{"base64": "..."}}}}.',
        )
    records = await _uploaded_media(request, served, column)
    return await run_in_threadpool(served.validator.validate, records, single=len(records) == 1)


async def _uploaded_media(
    request: Request, served: ServedModel, column: str
) -> list[dict[str, Any]]:
    """One record per uploaded file (field ``column`` or ``file``); text fields apply to all."""
    names = {column, DEFAULT_FILE_FIELD}
    uploads: list[Upload] = []
    shared: dict[str, Any] = {}
    async with request.form(max_files=MAX_FILES, max_fields=64) as form:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key not in names:
                    raise RequestError(
                        422,
                        f"file field {key[:40]!r} is not read; send the "
                        f"{served.schema.modality} files as field {column!r} (or "
                        f"{DEFAULT_FILE_FIELD!r}).",
                    )
                uploads.append(Upload(value.filename or "", await value.read()))
            elif key in names:
                raise RequestError(
                    422,
                    [
                        {
                            "loc": ["body", key],
                            "msg": f"must be a file upload (curl: -F '{key}=@file')",
                        }
                    ],
                )
            else:
                shared[key] = value
    if not uploads:
        raise RequestError(
            422,
            f"multipart body has no file; upload the {served.schema.modality} file(s) as field "
            f"{column!r} (or {DEFAULT_FILE_FIELD!r}).",
        )
    return [{**shared, column: upload} for upload in uploads]


async def _uploaded_file(request: Request) -> bytes:
    async with request.form(max_files=1, max_fields=8) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise RequestError(422, "multipart body needs a 'file' field holding CSV text.")
        return await upload.read()


def _to_csv(predictions: list[dict[str, Any]], class_keys: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if predictions and "prediction" not in predictions[0]:  # a task's own answer fields
        keys = list(predictions[0])
        writer.writerow(keys)
        writer.writerows([item[k] for k in keys] for item in predictions)
        return buffer.getvalue()
    writer.writerow(["prediction", *(f"proba_{k}" for k in class_keys)])
    for item in predictions:
        probabilities = item.get("probabilities", {})
        writer.writerow([item["prediction"], *(probabilities[k] for k in class_keys)])
    return buffer.getvalue()


def _add_error_handlers(app: FastAPI) -> None:
    async def request_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestError)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    async def too_large(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=413)

    async def data_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    async def store_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("error answering %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {"detail": "internal error; the server log has the details."}, status_code=500
        )

    app.add_exception_handler(RequestError, request_error)
    app.add_exception_handler(BodyTooLarge, too_large)
    app.add_exception_handler(DataError, data_error)
    app.add_exception_handler(StoreError, store_error)
    app.add_exception_handler(Exception, unexpected)

"""Run the HTTP server: loopback by default; any other address only with a bearer token."""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable

import uvicorn

from mlvsdl.errors import ConfigError
from mlvsdl.serve.app import DEFAULT_MAX_BODY_BYTES, create_app
from mlvsdl.serve.model import ServedModel

__all__ = ["check_binding", "is_loopback", "run_server"]

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token."""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"--host {host} makes the model reachable from other machines; set a bearer token "
            "with --token or MLVSDL_TOKEN (or keep the default --host 127.0.0.1)."
        )


def run_server(
    run_id: str,
    *,
    store: str | os.PathLike[str] | None = None,
    model: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    on_ready: Callable[[ServedModel], None] | None = None,
    allow_missing: bool = False,
) -> None:
    """Load the model once, then serve it until interrupted (``on_ready`` is told when loaded)."""
    check_binding(host, token)
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, got {port}.")
    app = create_app(
        run_id,
        store,
        model=model,
        token=token,
        max_body_bytes=max_body_bytes,
        allow_missing=allow_missing,
    )
    served: ServedModel = app.state.served
    logger.info("serving model %s of run %s on %s:%d", served.name, served.run_id, host, port)
    if on_ready is not None:
        on_ready(served)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)

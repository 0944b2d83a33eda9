"""python -m gateway: serves the HTTP API (GATEWAY_HOST, GATEWAY_PORT; default 127.0.0.1:8080)."""

import os

import uvicorn

from gateway.app import create_app
from servicekit.runtime import configure_logging

configure_logging()
uvicorn.run(
    create_app(),
    host=os.environ.get("GATEWAY_HOST", "127.0.0.1"),
    port=int(os.environ.get("GATEWAY_PORT", "8080")),
    log_level=os.environ.get("LOG_LEVEL", "info").lower(),
    timeout_graceful_shutdown=5,
    loop="uvloop",
    http="httptools",
)

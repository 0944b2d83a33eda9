"""python -m gateway: serves the HTTP API (GATEWAY_HOST, GATEWAY_PORT; default 127.0.0.1:8080)."""

import os

import uvicorn

from gateway.app import create_app
from servicekit.metrics import start_metrics_server
from servicekit.runtime import configure_logging

configure_logging()
start_metrics_server()  # on METRICS_PORT, when set
uvicorn.run(
    create_app(),
    host=os.environ.get("GATEWAY_HOST", "127.0.0.1"),
    port=int(os.environ.get("GATEWAY_PORT", "8080")),
    log_level=os.environ.get("LOG_LEVEL", "info").lower(),
    log_config=None,  # its records go to the JSON lines configure_logging set up
    timeout_graceful_shutdown=5,
    loop="uvloop",
    http="httptools",
)

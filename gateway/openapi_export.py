"""python -m gateway.openapi_export FILE: writes the gateway's OpenAPI document (the web console's client is typed
from it) without starting anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gateway.app import create_app


def main(target: str) -> None:
    document = json.dumps(create_app().openapi(), ensure_ascii=False, indent=1, sort_keys=True)
    path = Path(target)
    if not path.exists() or path.read_text(encoding="utf-8") != document:  # unchanged: make rebuilds nothing
        path.write_text(document, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])

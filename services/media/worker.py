"""python -m services.media.worker: a transcoding worker (health on MEDIA_WORKER_GRPC_PORT)."""

import os

from servicekit.runtime import main
from services.media.bootstrap import build_worker

if __name__ == "__main__":
    os.environ["MEDIA_GRPC_PORT"] = os.environ.get("MEDIA_WORKER_GRPC_PORT", "0")
    main(build_worker)

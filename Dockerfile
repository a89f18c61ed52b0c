# syntax=docker/dockerfile:1.7
# guardd: multi-stage, slim, non-root. Build with BuildKit (the default builder):
#   docker build -t guardd:0.1.0 .
# Models: whatever is under models/ in the build context is copied to /etc/guardd/models (the chart's models.mountPath);
# nothing is downloaded at run time.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY proto/ proto/
COPY src/ src/
# Every dependency ships manylinux wheels (grpcio, onnxruntime, google-re2, spaCy): no compiler in this stage.
RUN python -m venv /opt/guardd \
    && /opt/guardd/bin/pip install --no-cache-dir --no-compile /src \
    && /opt/guardd/bin/python -m compileall -q /opt/guardd/lib
# models/ is optional in the context (guardd ships no weights by default): copy it when it is there.
RUN --mount=type=bind,target=/context \
    mkdir -p /out/models \
    && if [ -d /context/models ]; then cp -R /context/models/. /out/models/; fi

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="guardd" \
      org.opencontainers.image.description="Guardrail and semantic-SLO sidecar for LLM traffic, served over gRPC" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 guardd \
    && useradd --system --uid 10001 --gid guardd --home-dir /tmp --no-create-home --shell /usr/sbin/nologin guardd
COPY --from=build /opt/guardd /opt/guardd
COPY --from=build /out/models /etc/guardd/models
COPY policies/default.yaml /etc/guardd/policy/default.yaml
# Offline by construction: presidio's tldextract must not fetch its suffix list, no hub downloads.
ENV PATH=/opt/guardd/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="" \
    HF_HUB_OFFLINE=1
# Numeric, so Kubernetes' runAsNonRoot can verify it; the root filesystem can be read-only (/tmp is a volume).
USER 10001:10001
EXPOSE 50051 9464
ENTRYPOINT ["guardd"]
CMD ["serve", "--policy", "/etc/guardd/policy", "--host", "0.0.0.0"]

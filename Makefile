# Length-of-stay / NCTR risk: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.8
# uv: the one on PATH if there is one, else a pinned copy in a project-local tools venv (.tools/),
# whose path is known before it exists (pip's --user or global script dirs vary by machine/HOME).
TOOLS_UV := .tools/bin/uv
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS_UV))
DATA_DIR ?= data
ROWS ?= 200000
SEED ?= 42
export UV_PYTHON := python3.11

.PHONY: help install train test lint audit licences licences-update typecheck format bench serve ui system-deps clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(TOOLS_UV):
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@$(TOOLS_UV) --version

.venv/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

install: .venv/.installed ## Create .venv with the pinned dependencies (uv.lock)

$(DATA_DIR)/admissions.parquet: | install
	$(UV) run los generate --rows $(ROWS) --seed $(SEED) --out $@ --truth-out $(DATA_DIR)/truth.parquet

train: install $(DATA_DIR)/admissions.parquet ## Generate default data if absent, train, register, gate, promote
	LOS_DATA_DIR=$(DATA_DIR) $(UV) run los train --data $(DATA_DIR)/admissions.parquet

system-deps: ## Install PostgreSQL and Chromium from Debian packages (skipped if present or not root)
	@bash scripts/install-postgres.sh || echo 'warning: PostgreSQL not installed; its tests will skip'
	@bash scripts/install-chromium.sh || echo 'warning: Chromium not installed; browser tests will skip'

test: install system-deps ## Run the whole test suite (installs PostgreSQL/Chromium when it can)
	$(UV) run pytest

lint: install ## ruff lint and format check
	$(UV) run ruff check .
	$(UV) run ruff format --check .

# pip-audit: every locked package (dev tools included) against PyPI's advisory data. Our own package
# is left out (--no-emit-project): it is not on PyPI. Pins are exact, so nothing is resolved
# (--no-deps --disable-pip), and --strict fails the audit when any package could not be checked
# (without it, pip-audit passes with every package skipped).
# It needs PyPI's per-version JSON API. Where that is not served (this workplace's registry access
# answers "not found" for every version), a one-package probe says so and `make audit` fails;
# AUDIT_UNAVAILABLE=warn turns that one case into a loud notice (.ci/run uses it, so that the
# missing API does not fail every run). Vulnerabilities found fail the target either way.
# The MLflow UI's own lock (`make ui`) is audited too.
# Accepted vulnerabilities, one `--ignore-vuln ID` each with its reason: none so far.
AUDIT_IGNORE :=
AUDIT_UNAVAILABLE ?= fail
PIP_AUDIT := $(UV) run pip-audit --requirement /dev/stdin --no-deps --disable-pip --strict \
	--progress-spinner off

audit: install ## Known vulnerabilities in the locked dependencies (pip-audit, PyPI advisories)
	@if ! echo "pip-audit==2.10.1" | $(PIP_AUDIT) >/dev/null 2>&1; then \
	  echo "make audit: dependencies NOT audited: PyPI's vulnerability data is not reachable from here"; \
	  [ "$(AUDIT_UNAVAILABLE)" = warn ]; exit; \
	fi; \
	set -o pipefail; \
	$(UV) export --frozen --format requirements-txt --no-hashes --no-emit-project --quiet \
	  | $(PIP_AUDIT) $(AUDIT_IGNORE) && \
	$(UV) export --frozen --project $(UI_PROJECT) --format requirements-txt --no-hashes --quiet \
	  | $(PIP_AUDIT) $(AUDIT_IGNORE)

licences: install ## Licences of the locked dependencies: fails on an unreviewed copyleft or unknown one
	$(UV) run python scripts/licences.py --check

licences-update: install ## Rewrite docs/licences.csv after a lock change (then review and commit)
	$(UV) run python scripts/licences.py --write

typecheck: install ## mypy on the packages
	$(UV) run mypy

format: install ## Apply ruff formatting and import sorting
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

bench: install ## Benchmarks (training, scoring, service); prints tables, writes JSON
	PYTHONPATH=. $(UV) run python benchmarks/run.py

serve: install ## Run the HTTP service on 127.0.0.1:8000 (needs LOS_API_KEYS, or LOS_ALLOW_NO_KEYS=1 to run open)
	LOS_DATA_DIR=$(DATA_DIR) $(UV) run los serve

# The MLflow UI runs from an environment of its own (scripts/mlflow-ui/.venv, pinned by
# scripts/mlflow-ui/uv.lock), never from .venv: the UI's web files and server ship only in the full
# `mlflow`, which needs pyarrow<26 while the project pins 26.0.1, so one lock cannot hold both; and
# outside .venv, `make install`'s exact `uv sync` (it removes every package the lock's default groups
# do not list) can never uninstall it, nor remove files that `mlflow` and `mlflow-skinny` share.
# The registry is the one `make train` writes: MLFLOW_TRACKING_URI if set, else the SQLite file in
# DATA_DIR (los.config.Settings.tracking_uri; tests/unit/test_make_ui.py holds the two together).
# One worker: a viewer for one person (mlflow's default of 4 takes minutes to start on 2 cores).
UI_PROJECT := scripts/mlflow-ui
UI_PORT ?= 5000
REGISTRY_URI = $(or $(MLFLOW_TRACKING_URI),sqlite:///$(abspath $(DATA_DIR))/mlflow.db)

ui: | $(UV) ## The MLflow UI over the project's registry on 127.0.0.1 (port UI_PORT, default 5000)
	$(UV) sync --frozen --project $(UI_PROJECT)
	$(UV) run --frozen --no-sync --project $(UI_PROJECT) mlflow ui --host 127.0.0.1 \
	  --port $(UI_PORT) --workers 1 --backend-store-uri '$(REGISTRY_URI)'

clean: ## Remove generated data, registry and caches
	rm -rf $(DATA_DIR) .tools .pytest_cache .ruff_cache .mypy_cache

# The README's commands. Each target sets up what it needs (scripts/devenv.sh is idempotent).
SHELL := /bin/bash
DEVENV := scripts/devenv.sh
VENV := .venv/bin
WITH_ENV = eval "$$($(DEVENV) env)" &&
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test lint stop reliability

setup:
	@$(DEVENV) setup
	@$(WITH_ENV) $(VENV)/petakota db upgrade && $(VENV)/petakota load-sample --if-empty

run: setup
	@$(WITH_ENV) $(VENV)/petakota serve --host $(HOST) --port $(PORT)

# Tests may run on a cluster without fsync (faster; they recreate their database anyway). `make run` restarts
# such a cluster durable, and a test run keeps a durable one as it is.
test: export PETAKOTA_PG_DURABLE = 0
test: setup
	@$(VENV)/ruff check gis layers api tests
	@$(WITH_ENV) $(VENV)/python -m pytest $(PYTEST_ARGS)

lint:
	@$(VENV)/ruff check gis layers api tests

stop:
	@$(DEVENV) stop-db

# REPLICAS API processes behind a private nginx on http://127.0.0.1:$(CLUSTER_PORT), on one primary and, with
# READ_REPLICA=1 (the default), a streaming read replica on port 5440 that serves their reads (scripts/replica.sh,
# scripts/cluster.sh: ports, run directory). `make stop-cluster` stops them.
REPLICAS ?= 3
CLUSTER_PORT ?= 8080
READ_REPLICA ?= 1
export REPLICAS CLUSTER_PORT
.PHONY: run-cluster stop-cluster
run-cluster: setup
	@$(WITH_ENV) if [ "$(READ_REPLICA)" = 1 ]; then scripts/replica.sh start && eval "$$(scripts/replica.sh env)"; fi \
	  && scripts/cluster.sh start && scripts/cluster.sh status

stop-cluster:
	@scripts/cluster.sh stop
	@if [ "$(READ_REPLICA)" = 1 ]; then $(WITH_ENV) scripts/replica.sh stop; fi

# Benchmarks (not part of `make test`): side by side with tipg and TiTiler (docs/benchmarks.md), then siting,
# cities, RDTR, programmes, printing and the web maps in Chromium (docs/benchmarks-*.md).
.PHONY: bench
bench:
	@bench/bench.sh

# Load, fault (PostgreSQL restart), fuzz, concurrent editors, leak scan, hostile input; writes
# docs/reliability.md. Runs its own PostGIS cluster on port 5449. Not part of `make test`.
reliability: setup
	@$(VENV)/python reliability/run.py

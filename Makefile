# Every target that needs Python installs first when needed, so each works alone on a fresh clone.
PY        ?= python3.11
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
HOST      ?= 127.0.0.1
PORT      ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install run test check fmt eval eval-all bench reliability browser clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

install: $(STAMP) ## create .venv (Python 3.11) and install the project, dev tools and model parts

# llama.cpp is built from source for this CPU (-march=native) but without AMX: a virtual machine
# can list AMX in /proc/cpuinfo without enabling it, and the first tile instruction then faults
# (a segfault on the first token, seen here). pip's wheel cache ignores compiler flags, so that
# build is made once per machine into a folder of its own, and installed from there over any
# other build of the same version.
# the version pyproject.toml pins, read from there so that the two cannot drift apart
LLAMA_VERSION := $(shell sed -n 's/.*"llama-cpp-python\[server\]==\([0-9.]*\)".*/\1/p' pyproject.toml)
LLAMA_CFLAGS  := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
WHEELS        ?= $(HOME)/.cache/rag/wheels/llama-noamx
LLAMA_WHEEL   := $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl

# The stamp makes a second `make install` a no-op until pyproject.toml or this file changes;
# pip's cache and that wheel keep a re-install short (llama.cpp is built once per machine).
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: a bare "torch" requirement would pull the CUDA build from the registry
	$(BIN)/pip install -q torch==2.13.0
	ls $(LLAMA_WHEEL) >/dev/null 2>&1 || CFLAGS="$(LLAMA_CFLAGS)" CXXFLAGS="$(LLAMA_CFLAGS)" \
		$(BIN)/pip wheel -q --no-deps --no-cache-dir --no-binary llama-cpp-python \
		-w $(WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(BIN)/pip install -q --find-links $(WHEELS) -e '.[dev,model]'
	$(BIN)/pip install -q --no-deps --force-reinstall $(LLAMA_WHEEL)
	touch $(STAMP)

run: install ## index the corpus when needed and serve the API + chat page on http://127.0.0.1:8000
	$(BIN)/rag serve --host $(HOST) --port $(PORT)

browser: ## install Debian's Chromium for the page tests when missing
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

test: install browser ## run the whole test suite (real models, Chroma server, LLM server, browser)
	$(BIN)/python -m pytest -q -p no:cacheprovider

check: install ## fast loop: format check, lint, types, tests without real models
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy rag index api eval
	$(BIN)/python -m pytest -q -m "not real" -p no:cacheprovider

fmt: install ## format and fix lint in place
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

SET       ?= data/eval/dev.jsonl

eval: install ## evaluate a question set (SET=, default dev.jsonl) into eval-results/<set name>/
	$(BIN)/rag eval $(SET) --out eval-results/$(basename $(notdir $(SET)))

SETS      ?=

eval-all: install ## every question set (SETS= picks) side by side into eval-results/all/
	$(BIN)/rag eval-all --out eval-results/all $(if $(SETS),--sets $(SETS))

BENCH_ARGS ?=

bench: install ## benchmarks into bench-results/ (JSON + markdown)
	$(BIN)/rag bench --out bench-results $(BENCH_ARGS)

reliability: install ## load, auth, schema fuzzing, kill -9 faults, hostile input -> reliability-results/report.json
	$(BIN)/rag reliability --out reliability-results

clean: ## remove the venv, the index and generated results
	rm -rf $(VENV) .rag eval-results bench-results reliability-results tests/artifacts

# One-command set-up: `make test` and `make demo` create .venv and install on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SITE := example_site
# torch's CPU build first (Linux): an unpinned torch would pull a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0

.PHONY: install test test-unit test-slow demo bench clean published-drafts

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	if [ "$$(uname -s)" = Linux ]; then $(BIN)/pip install -q "$(TORCH_PIN)"; fi
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q -m unit tests

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow tests

demo: $(STAMP)
	$(BIN)/mkdocs-aigen train -f $(SITE)/mkdocs.yml --max-minutes 3 --reuse
	$(BIN)/mkdocs build -f $(SITE)/mkdocs.yml

# Benchmarks as ratios against the obvious alternative (see benchmarks/__init__.py); table on stdout,
# JSON in benchmarks/results.json. E.g. `make bench BENCH_ARGS="--quick"` or BENCH_ARGS="--only B2".
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

# The drafts the Pages workflow publishes for example_site: made by the shipped base, committed.
published-drafts: $(STAMP)
	rm -rf $(SITE)/published-drafts
	AIGEN_CACHE_DIR=published-drafts AIGEN_MODEL=$(CURDIR)/mkdocs_aigen/ml/base \
		$(BIN)/mkdocs build -f $(SITE)/mkdocs.yml -d $(CURDIR)/$(SITE)/.aigen/published-site

clean:
	rm -rf $(SITE)/site $(SITE)/.aigen

# The contributor's whole interface: `make run` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The mirror of published files; when absent the refresh downloads from the official URLs.
SOURCES ?= $(if $(wildcard ../shared/data/MANIFEST.md),../shared/data,)
PORT ?= 8501

.PHONY: run test refresh status lint bench clean

$(BIN)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.dev: $(BIN)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

refresh: $(BIN)/.runtime
	$(BIN)/python -m etl refresh $(if $(SOURCES),--sources $(SOURCES),--download)

run: refresh
	$(BIN)/streamlit run serve.py --server.headless true --server.port $(PORT)

status: $(BIN)/.runtime
	$(BIN)/python -m etl status

test: $(BIN)/.dev
	@command -v chromium >/dev/null 2>&1 || echo "note: /usr/bin/chromium not found; browser tests will be skipped (apt-get install chromium)"
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadfile

lint: $(BIN)/.dev
	$(BIN)/ruff check .

bench: $(BIN)/.dev
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) data/generated data/warehouse.duckdb* data/snapshots

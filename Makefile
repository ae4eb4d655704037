# `make run`: set up and serve the demo site on SQLite. `make test`: set up and run every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
WORKERS ?= 2
# pytest-xdist processes for `make test` (auto: one per CPU core); TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= auto
export FLASK_APP := wsgi

.PHONY: setup run serve test translations extract-messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d translations >/dev/null

setup: $(VENV)/.installed translations
	$(BIN)/flask db upgrade

run: setup
	$(BIN)/flask seed-demo
	@echo "Taizhang: http://127.0.0.1:$(PORT)/"
	exec $(BIN)/gunicorn --workers $(WORKERS) --threads 4 --no-control-socket --bind 127.0.0.1:$(PORT) --access-logfile - wsgi:app

# Production-like start without demo data: `make serve` after `flask create-user`.
serve: setup
	exec $(BIN)/gunicorn --workers $(WORKERS) --threads 4 --no-control-socket --bind 127.0.0.1:$(PORT) wsgi:app

test: $(VENV)/.installed translations
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

# Re-extract UI strings into the catalogs (sorted, no line numbers, so parallel edits merge cleanly).
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o translations/messages.pot . >/dev/null
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete >/dev/null

clean:
	rm -rf $(VENV) instance .pytest_cache

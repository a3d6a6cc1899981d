# One entry point for developers and CI. `make install` sets up .venv; `make test` runs everything
# CI runs. The real Go tools (OPA, Regal, etcd and kube-apiserver for the test cluster; conftest
# and kubeconform for bench) are built once into .tools/bin from pinned module versions by
# scripts/build-tools.sh.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
TOOLS   := .tools/bin
export PATH := $(CURDIR)/$(TOOLS):$(CURDIR)/$(BIN):$(PATH)
export RUST_BACKTRACE := 0

.PHONY: install tools lint test test-python test-rego render check bench clean

$(BIN)/tenancy: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/pip install --quiet -e ".[opa,sync,k8s,tools,cluster]" --group dev
	touch $@

# The source is installed editable: its bytecode is compiled here, on every `make install`
# (only what changed), because Python does not write it where PYTHONDONTWRITEBYTECODE is set,
# as in many CI images; compiling the modules again on every run costs 50 ms of each command.
install: $(BIN)/tenancy
	$(BIN)/python -m compileall -q src >/dev/null

tools:
	scripts/build-tools.sh opa regal etcd kube-apiserver

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test-rego: tools
	$(TOOLS)/opa fmt --fail -l policies
	$(TOOLS)/opa check --strict policies
	$(TOOLS)/opa test policies
	$(TOOLS)/regal lint policies

test-python: install tools
	$(BIN)/pytest

test: lint test-rego test-python

render: install
	$(BIN)/tenancy render

check: install
	$(BIN)/tenancy validate
	$(BIN)/tenancy render --check

bench: install
	scripts/build-tools.sh opa conftest kubeconform
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The two commands of the README: `make run` and `make test`.
# Both create .venv when it is missing, install augstudy with its dependencies
# (re-installing only when pyproject.toml changed), then do their job.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.augstudy-installed

.PHONY: run test setup bench clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch/torchvision first and pinned: pip takes them from this machine's disk.
	$(BIN)/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install --quiet -e '.[ray]'
	@touch $(STAMP)

# The main job: a smoke-budget dropout ablation on the embedded default dataset.
run: $(STAMP)
	$(BIN)/augstudy ablate dropout --budget smoke

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean-venv:
	rm -rf $(VENV)

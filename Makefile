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
	$(BIN)/python -m pip install --quiet -e '.[ray,test]'
	@touch $(STAMP)

# The main job: a smoke-budget dropout ablation on the embedded default dataset.
run: $(STAMP)
	$(BIN)/augstudy ablate dropout --budget smoke

test: $(STAMP)
	$(BIN)/python -m pytest -q

# CPU benchmarks, each printing ratios against its baseline (numbers: benchmarks/RESULTS.md).
# The cache and check benchmarks generate a 110,000-file tree under /tmp on first use (minutes).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_augment.py
	$(BIN)/python benchmarks/bench_measure.py
	$(BIN)/python benchmarks/bench_preview.py
	$(BIN)/python benchmarks/bench_train_step.py
	$(BIN)/python benchmarks/bench_cache.py
	$(BIN)/python benchmarks/bench_check.py

clean-venv:
	rm -rf $(VENV)

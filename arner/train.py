"""Fine-tuning: corpus -> windows with first-subword labels -> Trainer -> ``models/<name>/``.

Dev strict F1 (computed by the same Tagger and scorer as ``make eval``) selects the best
checkpoint and drives early stopping. Checkpoints live in ``train/runs/<name>/``; running
again resumes from the last one. The finished model is a plain Hugging Face directory,
written to a temporary folder and renamed into place.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import torch
import yaml

from arner.align import IGNORE, make_windows, word_tags
from arner.config import Config
from arner.conll import read_conll
from arner.documents import load_corpus
from arner.encoders import build_tiny, ensure_encoder_available
from arner.errors import InputError
from arner.evaluate import known_forms, label_table, predict_documents, score
from arner.schema import load_schema
from arner.splits import split_documents
from arner.tagger import Tagger, TaggerSettings
from arner.text import split_words


def training_features(docs, tokenizer, config: Config, label2id: dict[str, int]) -> list[dict]:
    """One example per window: input ids and the label of each word on its first subword.

    Training windows do not overlap (overlap only adds compute here); inference windows do.
    """
    words = [split_words(d.text) for d in docs]
    tags = [word_tags(w, d.entities) for w, d in zip(words, docs)]
    for doc_words, doc_tags, doc in zip(words, tags, docs):  # spans a corpus never annotated: no loss
        for start, end in doc.meta.get("unlabelled", []):
            for i, w in enumerate(doc_words):
                if w.start < end and start < w.end:
                    doc_tags[i] = None
    features = []
    # No overlap in training: each window is an example of its own, and overlap would only add compute.
    for window in make_windows(tokenizer, words, config.normalize, config.max_length, overlap=0):
        labels = [IGNORE] * len(window.input_ids)
        for pos, word in zip(window.first_positions, window.first_words):
            tag = tags[window.text_index][word]
            labels[pos] = IGNORE if tag is None else label2id[tag]
        features.append({"input_ids": window.input_ids, "attention_mask": [1] * len(window.input_ids), "labels": labels})
    return features


def _encoder_dir(config: Config, train_docs) -> str:
    if config.encoder != "tiny":
        return config.encoder
    base = config.run_dir / "tiny-base"
    if not (base / "config.json").exists():
        words = [w.text for d in train_docs for w in split_words(d.text)]
        build_tiny(words, config.tiny, config.max_length, base)
    return str(base)


def _last_checkpoint(run_dir: Path) -> str | None:
    checkpoints = sorted(run_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    complete = [c for c in checkpoints if (c / "trainer_state.json").exists()]
    return str(complete[-1]) if complete else None


def train(config: Config, config_path: Path, callbacks: list | None = None) -> dict:
    """Train, select on dev strict F1, save ``models/<name>/``; ``callbacks`` are extra TrainerCallbacks."""
    from transformers import (AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification,
                              EarlyStoppingCallback, Trainer, TrainingArguments, set_seed)

    started = time.time()
    if config.encoder != "tiny":
        ensure_encoder_available(config.encoder)  # fail within seconds, before any other work
    schema = load_schema(config.data.labels)
    docs = load_corpus(config.data.corpus, schema)
    splits = split_documents(docs, config.data.dev_percent, config.data.test_percent)
    for name in ("train", "dev"):
        if not splits[name]:
            raise InputError(f"{config.data.corpus}: the {name} split is empty ({len(docs)} documents); add documents or set meta.split")
    set_seed(config.training.seed)  # the tiny encoder's random weights, too
    for extra in config.extra_corpora:
        extra_docs = [d for d in read_conll(extra.path, extra.labels, extra.mask_numbers)
                      if not extra.keep_only_with or any(e.label in extra.keep_only_with for e in d.entities)]
        if extra.max_sentences and len(extra_docs) > extra.max_sentences:
            step = len(extra_docs) / extra.max_sentences
            extra_docs = [extra_docs[int(i * step)] for i in range(extra.max_sentences)]
        print(f"[train] + {len(extra_docs)} sentences from {extra.path} (training split only)", flush=True)
        splits["train"] = splits["train"] + extra_docs
    encoder = _encoder_dir(config, splits["train"])
    print(f"[train] {config.name}: encoder {encoder}; documents train {len(splits['train'])}, "
          f"dev {len(splits['dev'])}, test {len(splits['test'])}", flush=True)

    set_seed(config.training.seed)
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    model = AutoModelForTokenClassification.from_pretrained(
        encoder, num_labels=len(schema.bio_tags), id2label=schema.id2label, label2id=schema.label2id)
    if config.training.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    settings = TaggerSettings(config.normalize, config.max_length, config.window_overlap)
    train_features = training_features(splits["train"], tokenizer, config, schema.label2id)
    t = config.training
    on_gpu = torch.cuda.is_available()
    run_dir = config.run_dir
    args = TrainingArguments(
        output_dir=str(run_dir), num_train_epochs=t.epochs, learning_rate=t.learning_rate,
        per_device_train_batch_size=t.batch_size, per_device_eval_batch_size=t.eval_batch_size,
        weight_decay=t.weight_decay, warmup_steps=t.warmup_ratio, seed=t.seed, data_seed=t.seed,
        eval_strategy="epoch", save_strategy="epoch", save_total_limit=2, load_best_model_at_end=True,
        metric_for_best_model="f1", greater_is_better=True, logging_strategy="epoch",
        bf16=on_gpu and t.bf16_on_gpu and torch.cuda.is_bf16_supported(), use_cpu=not on_gpu,
        report_to="none", disable_tqdm=False,
    )

    dev_docs = splits["dev"]

    class DevF1Trainer(Trainer):
        """Evaluates by tagging the dev documents, exactly as `make eval` does."""

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            tagger = Tagger(self.model, self.processing_class, settings, batch_size=t.eval_batch_size, device=str(self.args.device))
            metrics = score(dev_docs, predict_documents(tagger, dev_docs), schema.names)
            self.model.train()
            out = {f"{metric_key_prefix}_f1": metrics["seqeval"]["micro_f1"],
                   **{f"{metric_key_prefix}_f1_{k}": v["f1"] for k, v in metrics["per_label"].items()}}
            self.log(out)
            self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, out)
            return out

    trainer = DevF1Trainer(
        model=model, args=args, train_dataset=train_features, eval_dataset=train_features[:1],
        processing_class=tokenizer, data_collator=DataCollatorForTokenClassification(tokenizer),
        callbacks=[EarlyStoppingCallback(early_stopping_patience=t.early_stopping_patience), *(callbacks or [])],
    )
    resume = _last_checkpoint(run_dir)
    if resume:
        print(f"[train] resuming from {resume}", flush=True)
    trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.time() - started

    # Final scores with the best checkpoint (loaded at the end of training).
    tagger = Tagger(trainer.model, tokenizer, settings, batch_size=t.eval_batch_size)
    known = known_forms(splits["train"])
    results = {name: score(splits[name], predict_documents(tagger, splits[name]), schema.names, known)
               for name in ("dev", "test") if splits[name]}
    save_model(trainer.model, tokenizer, settings, config, config_path, results, train_seconds)
    for name, metrics in results.items():
        print(f"\n[{config.name}] {name} split\n{label_table(metrics)}")
    print(f"\n[train] saved {config.model_dir} in {train_seconds:.0f} s")
    return results


def save_model(model, tokenizer, settings: TaggerSettings, config: Config, config_path: Path, results: dict, seconds: float) -> None:
    """Write the model directory to a temporary folder, then swap it into place."""
    final = config.model_dir
    tmp = final.with_name(f".{final.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    settings.save(tmp)
    (tmp / "training_config.yaml").write_text(yaml.safe_dump(config.model_dump(), allow_unicode=True, sort_keys=False), encoding="utf-8")
    (tmp / "README.md").write_text(model_card(config, config_path, results, seconds), encoding="utf-8")
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def model_card(config: Config, config_path: Path, results: dict, seconds: float) -> str:
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    lines = [
        f"# {config.name}: Arabic conflict-news NER (ARMED_GROUP, LOCATION, COUNT)", "",
        f"Token classifier fine-tuned from `{config.encoder}` by the arner project "
        f"(`make train CONFIG={config_path}`), {seconds:.0f} s on {device}.", "",
        "Load it with `from arner import Tagger; Tagger.load(dir).tag([text])` (exact character offsets, "
        "windows for long texts) or with plain `transformers.pipeline(\"token-classification\", model=dir, "
        "aggregation_strategy=\"simple\")`.", "",
    ]
    for name, metrics in results.items():
        lines += [f"## Scores on the {name} split", "", label_table(metrics), ""]
    return "\n".join(lines)

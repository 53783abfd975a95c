"""Fine-tuning: corpus -> windows with first-subword labels -> Trainer -> ``models/<name>/``.

Dev strict F1 (computed by the same Tagger and scorer as ``make eval``) selects the best
checkpoint and drives early stopping. Checkpoints live in ``train/runs/<name>/``; running
again resumes from the last one. The finished model is a plain Hugging Face directory,
written to a temporary folder and renamed into place. ``project_trainer`` holds the speed
choices (bf16 where fast, length buckets, fused AdamW); under ``torchrun`` it trains with
distributed data parallel over the same global batch.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from arner.align import IGNORE, make_windows, word_tags
from arner.config import Config, TrainingConfig, data_dir
from arner.conll import read_conll
from arner.documents import load_corpus
from arner.encoders import build_tiny, ensure_encoder_available
from arner.errors import InputError
from arner.evaluate import known_forms, label_table, predict_documents, score
from arner.perturb import augment
from arner.schema import load_schema
from arner.splits import split_documents
from arner.tagger import Tagger, TaggerSettings, bf16_is_fast
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


class LengthBucketSampler(torch.utils.data.Sampler):
    """Shuffled batches of windows of similar length, so little compute goes to padding.

    Each epoch the examples are shuffled, cut into chunks of 50 batches, each chunk sorted by
    length and cut into batches, and the full batches shuffled (a short last one comes last).
    ``batch_size`` is the global batch: N data-parallel processes taking consecutive slices of
    it see together exactly the batches one process would.
    """

    def __init__(self, lengths: list[int], batch_size: int, seed: int):
        self.lengths, self.batch_size, self.seed, self.epoch = np.asarray(lengths), batch_size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        chunk = 50 * self.batch_size
        batches = []
        for c in range(0, len(order), chunk):
            part = order[c : c + chunk]
            part = part[np.argsort(-self.lengths[part], kind="stable")]
            batches += [part[b : b + self.batch_size] for b in range(0, len(part), self.batch_size)]
        full = [b for b in batches if len(b) == self.batch_size]
        short = [b for b in batches if len(b) < self.batch_size]
        return iter(int(i) for b in [full[j] for j in rng.permutation(len(full))] + short for i in b)


def token_loss(outputs, labels, num_items_in_batch=None):
    """Cross-entropy summed over labelled subwords and divided by their count in the whole
    (global) batch, so several data-parallel processes add up to exactly one process's loss."""
    logits = outputs["logits"]
    total = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE, reduction="sum")
    return total / (num_items_in_batch if num_items_in_batch is not None else (labels != IGNORE).sum())


def project_trainer(model, tokenizer, features: list[dict], t: TrainingConfig, output_dir: Path, dev_metrics=None,
                    callbacks=(), **arguments):
    """The project's ``Trainer``: bf16 autocast where the hardware has it, length-bucketed global
    batches padded to a multiple of 8, fused AdamW and a token-summed loss (exact under data
    parallelism). ``dev_metrics(trainer) -> {"f1": ...}`` replaces its evaluation loop;
    ``arguments`` are extra ``TrainingArguments``."""
    from transformers import DataCollatorForTokenClassification, Trainer, TrainingArguments

    on_gpu = torch.cuda.is_available()
    args = TrainingArguments(**{
        "output_dir": str(output_dir), "num_train_epochs": t.epochs, "learning_rate": t.learning_rate,
        "per_device_train_batch_size": t.batch_size // world_size(), "per_device_eval_batch_size": t.eval_batch_size,
        "weight_decay": t.weight_decay, "seed": t.seed, "data_seed": t.seed,
        "warmup_steps": t.warmup_ratio,  # a number under 1 is a ratio of all steps (transformers 5)
        "use_cpu": not on_gpu, "optim": "adamw_torch_fused",
        "ddp_backend": "gloo" if world_size() > 1 and not on_gpu else None,
        "report_to": "none", "disable_tqdm": False, **arguments,
    })

    class ProjectTrainer(Trainer):
        bf16 = t.bf16 and bf16_is_fast(args.device)

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            out = {f"{metric_key_prefix}_{k}": v for k, v in dev_metrics(self).items()}
            self.model.train()
            self.log(out)
            self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, out)
            return out

        def autocast_smart_context_manager(self, cache_enabled=True):
            # bf16 for the training step only: the Trainer's own bf16 would wrap model.forward for
            # good, and the Tagger's fp32 re-check of close calls during evaluation needs fp32.
            return torch.autocast(self.args.device.type, dtype=torch.bfloat16, enabled=self.bf16)

        def _get_train_sampler(self, train_dataset=None):
            lengths = [len(f["input_ids"]) for f in train_dataset or self.train_dataset]
            return LengthBucketSampler(lengths, t.batch_size, t.seed)

    return ProjectTrainer(
        model=model, args=args, train_dataset=features, eval_dataset=features[:1], processing_class=tokenizer,
        data_collator=DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=8),
        compute_loss_func=token_loss, callbacks=list(callbacks),
    )


def _encoder_dir(config: Config, train_docs) -> str:
    if config.encoder != "tiny":
        return config.encoder
    base = config.run_dir / "tiny-base"
    if not (base / "config.json").exists():
        # Built aside and renamed into place: data-parallel processes build the same thing at once.
        words = [w.text for d in train_docs for w in split_words(d.text)]
        tmp = base.with_name(f"tiny-base.tmp{os.getpid()}")
        build_tiny(words, config.tiny, config.max_length, tmp)
        try:
            tmp.rename(base)
        except OSError:  # another process was first
            shutil.rmtree(tmp)
    return str(base)


def world_size() -> int:
    """Processes in the data-parallel group (``torchrun`` sets WORLD_SIZE; 1 otherwise)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def _last_checkpoint(run_dir: Path) -> str | None:
    checkpoints = sorted(run_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    complete = [c for c in checkpoints if (c / "trainer_state.json").exists()]
    return str(complete[-1]) if complete else None


def train(config: Config, config_path: Path, callbacks: list | None = None) -> dict:
    """Train, select on dev strict F1, save ``models/<name>/``; ``callbacks`` are extra TrainerCallbacks."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer, EarlyStoppingCallback, set_seed

    started = time.time()
    if config.encoder != "tiny":
        ensure_encoder_available(config.encoder)  # fail within seconds, before any other work
    for i, extra in enumerate(config.extra_corpora):
        if not extra.file.exists():
            raise InputError(f"{config_path}: extra_corpora.{i}.path: {extra.file} not found; set DATA_DIR to the folder "
                             f"that holds public/ (now {data_dir()}), or train on the gold corpus alone: "
                             "make train CONFIG=configs/offline-gold-only.yaml")
    schema = load_schema(config.data.labels)
    docs = load_corpus(config.data.corpus, schema)
    splits = split_documents(docs, config.data.dev_percent, config.data.test_percent)
    for name in ("train", "dev"):
        if not splits[name]:
            raise InputError(f"{config.data.corpus}: the {name} split is empty ({len(docs)} documents); add documents or set meta.split")
    set_seed(config.training.seed)  # the tiny encoder's random weights, too
    for extra in config.extra_corpora:
        extra_docs = [d for d in read_conll(extra.file, extra.labels, extra.mask_numbers)
                      if not extra.keep_only_with or any(e.label in extra.keep_only_with for e in d.entities)]
        if extra.max_sentences and len(extra_docs) > extra.max_sentences:
            step = len(extra_docs) / extra.max_sentences
            extra_docs = [extra_docs[int(i * step)] for i in range(extra.max_sentences)]
        print(f"[train] + {len(extra_docs)} sentences from {extra.file} (training split only)", flush=True)
        splits["train"] = splits["train"] + extra_docs
    t = config.training
    if t.augment:
        splits["train"] = augment(splits["train"], t.augment, t.seed, config.normalize)
        print(f"[train] augmentation: {t.augment:.0%} of the training documents rewritten by a change of form", flush=True)
    if t.batch_size % world_size():
        raise InputError(f"{config_path}: training.batch_size {t.batch_size} does not split over {world_size()} processes")
    encoder = _encoder_dir(config, splits["train"])
    print(f"[train] {config.name}: encoder {encoder}; documents train {len(splits['train'])}, "
          f"dev {len(splits['dev'])}, test {len(splits['test'])}", flush=True)

    set_seed(t.seed)
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    model = AutoModelForTokenClassification.from_pretrained(
        encoder, num_labels=len(schema.bio_tags), id2label=schema.id2label, label2id=schema.label2id)
    if t.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    settings = TaggerSettings(config.normalize, config.max_length, config.window_overlap)
    train_features = training_features(splits["train"], tokenizer, config, schema.label2id)

    def dev_metrics(trainer) -> dict:
        """Tag the dev documents exactly as `make eval` does (on every data-parallel process,
        so all of them take the same early-stopping and best-checkpoint decisions)."""
        tagger = Tagger(trainer.model, tokenizer, settings, batch_size=t.eval_batch_size, device=str(trainer.args.device))
        metrics = score(splits["dev"], predict_documents(tagger, splits["dev"]), schema.names)
        return {"f1": metrics["seqeval"]["micro_f1"], **{f"f1_{k}": v["f1"] for k, v in metrics["per_label"].items()}}

    trainer = project_trainer(
        model, tokenizer, train_features, t, config.run_dir, dev_metrics,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=t.early_stopping_patience), *(callbacks or [])],
        eval_strategy="epoch", save_strategy="epoch", save_total_limit=2, load_best_model_at_end=True,
        metric_for_best_model="f1", greater_is_better=True, logging_strategy="epoch",
    )
    print(f"[train] bf16 autocast: {'on' if trainer.bf16 else 'off'}; {world_size()} process(es); "
          f"{len(train_features)} windows, global batch {t.batch_size}", flush=True)
    resume = _last_checkpoint(config.run_dir)
    if resume:
        print(f"[train] resuming from {resume}", flush=True)
    trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.time() - started
    if not trainer.is_world_process_zero():
        return {}  # data-parallel helpers stop here; the first process scores and saves

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

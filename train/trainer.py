"""The project's ``Trainer``: what makes fine-tuning fast and exact, apart from what it trains on.

bf16 autocast where the hardware multiplies it, batches drawn from buckets of similar length
and padded to a multiple of 8, fused AdamW, and a loss summed over labelled subwords and
divided by their count in the global batch, so that under ``torchrun`` distributed data
parallel over N processes trains exactly like one process with the same global batch.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from arner.align import IGNORE
from arner.config import TrainingConfig
from arner.tagger import bf16_is_fast


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


def project_trainer(model, tokenizer, features, t: TrainingConfig, output_dir: Path, dev_metrics=None,
                    callbacks=(), **arguments):
    """The project's ``Trainer``: bf16 autocast where the hardware has it, length-bucketed global
    batches padded to a multiple of 8, fused AdamW and a token-summed loss (exact under data
    parallelism). ``dev_metrics(trainer) -> {"f1": ...}`` replaces its evaluation loop;
    ``features`` is a ``datasets.Dataset`` of windows (``train.dataset.training_windows``);
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
            lengths = [len(ids) for ids in (train_dataset or self.train_dataset)["input_ids"]]
            return LengthBucketSampler(lengths, t.batch_size, t.seed)

    return ProjectTrainer(
        model=model, args=args, train_dataset=features, eval_dataset=features.select([0]), processing_class=tokenizer,
        data_collator=DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=8),
        compute_loss_func=token_loss, callbacks=list(callbacks),
    )


def world_size() -> int:
    """Processes in the data-parallel group (``torchrun`` sets WORLD_SIZE; 1 otherwise)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def last_checkpoint(run_dir: Path) -> str | None:
    checkpoints = sorted(run_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    complete = [c for c in checkpoints if (c / "trainer_state.json").exists()]
    return str(complete[-1]) if complete else None

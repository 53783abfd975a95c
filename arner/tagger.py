"""The inference API: ``Tagger.load(model_dir).tag(texts)`` -> entities with exact offsets.

Each entity is ``{"start", "end", "label", "text", "score"}`` with ``text ==
original[start:end]``: words are found in the original text, normalised one by one for the
encoder, and decoded per word, so offsets never move. Windows are batched by length and run
on the path chosen for the machine (``path_choice``): PyTorch bf16 where the hardware multiplies
it natively; on a CPU without it, the model's ONNX Runtime graphs when it has been exported
(``arner.runtime``: smoothed int8 dense layers, or fused fp32); else PyTorch fp32. The two
approximate paths (bf16, int8) re-check every window holding a close call in fp32 (``GUARDS``),
so their entities are fp32's.
With ``prefetch`` (the default on a GPU) a background thread splits, tokenises and batches the
next chunk of texts while the model runs on the current one. With ``compile`` the model runs
through ``torch.compile`` over a few fixed shapes: each batch is padded to the smallest of
``buckets`` that fits and to a full batch, so there is one compiled graph per bucket and no
recompiling on ever-changing lengths (fp32 re-checks stay eager).
"""

from __future__ import annotations

import json
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from arner.align import make_windows, repair_iob2, tags_to_spans
from arner.errors import InputError
from arner.text import split_words

SETTINGS_FILE = "arner.json"
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "sentencepiece.bpe.model", "tokenizer.model", "spiece.model")


@dataclass
class TaggerSettings:
    normalize: str = "none"
    max_length: int = 256
    window_overlap: int = 64

    def save(self, model_dir: Path) -> None:
        (Path(model_dir) / SETTINGS_FILE).write_text(json.dumps(self.__dict__, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, model_dir: Path) -> "TaggerSettings":
        path = Path(model_dir) / SETTINGS_FILE
        return cls(**json.loads(path.read_text(encoding="utf-8"))) if path.exists() else cls()


# How close the two best labels of a word must be for its window to be redone in fp32, per
# approximate path (offline model; gold test split and real-news set, 15,724 words):
# - bf16 moved no word probability by more than 0.045 from fp32, so a decision can only flip
#   when the two best labels are within twice that;
# - smoothed int8 (``arner.runtime``) moved them by up to 0.31; of the 26 decisions it flipped,
#   25 were within 0.2; with this guard (5% of windows redone) 1 of 246 documents kept a difference.
GUARDS = {"torch-bf16": 0.1, "onnx-int8": 0.2}


def cpu_bf16_choice(amx: bool, avx512_bf16: bool) -> tuple[bool, str]:
    """Whether a CPU with these features should run bf16, and why (oneDNN runs bf16 natively on both)."""
    if amx:
        return True, "bf16: the CPU has AMX tiles"
    if avx512_bf16:
        return True, "bf16: the CPU has AVX512-BF16"
    return False, "fp32: the CPU has neither AMX nor AVX512-BF16"


def bf16_choice(device: torch.device) -> tuple[bool, str]:
    """bf16 where the hardware multiplies it natively (CUDA GPUs with bf16; CPUs with AMX or
    AVX512-BF16), with the reason. ``ARNER_NO_BF16=1`` forces fp32 (to measure that path anywhere)."""
    if os.environ.get("ARNER_NO_BF16") == "1":
        return False, "fp32: ARNER_NO_BF16=1"
    if device.type == "cuda":
        ok = torch.cuda.is_bf16_supported()
        return ok, "bf16: CUDA GPU with bf16" if ok else "fp32: this GPU has no bf16"
    if device.type != "cpu":
        return False, f"fp32: device {device.type}"
    return cpu_bf16_choice(torch.cpu._is_amx_tile_supported(), torch.cpu._is_avx512_bf16_supported())


def bf16_is_fast(device: torch.device) -> bool:
    return bf16_choice(device)[0]


PATHS = ("torch-fp32", "torch-bf16", "onnx-fp32", "onnx-int8")


def path_choice(device_type: str, bf16: tuple[bool, str], exported: set[str]) -> tuple[str, str]:
    """The Tagger's path, and why, from the device, its bf16 choice (``bf16_choice``) and the kinds of
    ONNX files the model has (``arner.runtime.exported_files``: "fp32", "int8"). bf16 where it is native;
    else, on a CPU, the fastest ONNX Runtime graph the model has; else PyTorch fp32."""
    if bf16[0]:
        return "torch-bf16", bf16[1]
    if device_type == "cpu" and "int8" in exported:
        return "onnx-int8", f"{bf16[1]}; ONNX Runtime int8 dense layers (MODEL/onnx/)"
    if device_type == "cpu" and "fp32" in exported:
        return "onnx-fp32", f"{bf16[1]}; ONNX Runtime fused fp32 graph (MODEL/onnx/)"
    if device_type == "cpu":
        return "torch-fp32", f"{bf16[1]}; no ONNX export (arner export-onnx MODEL makes one)"
    return "torch-fp32", bf16[1]


@dataclass
class Chunk:
    """Some consecutive texts, ready for the model."""

    start: int                 # index of its first text
    words: list                # per text, its words
    offsets: np.ndarray        # per text, the index of its first word among the chunk's words
    batches: list[tuple]       # (input_ids, rows, positions, word indices) per batch
    windows: int


def in_background(jobs: list, depth: int = 2):
    """The results of ``jobs`` (callables), in order, computed by one background thread that keeps at
    most ``depth`` results ahead; an exception in a job is raised here, at its place in the order."""
    results: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work():
        for job in jobs:
            try:
                item = (job(), None)
            except BaseException as exc:  # noqa: BLE001 - handed over to the consuming thread
                item = (None, exc)
            while not stop.is_set():
                try:
                    results.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item[1] is not None or stop.is_set():
                return

    thread = threading.Thread(target=work, name="arner-prefetch", daemon=True)
    thread.start()
    try:
        for _ in jobs:
            value, error = results.get()
            if error is not None:
                raise error
            yield value
    finally:
        stop.set()  # the consumer stopped early (or failed): let the thread end
        thread.join()


class Tagger:
    snapshot = None  # arner.snapshot.Snapshot: set by ``load``; None for a model still in training (checkout files)

    def __init__(self, model, tokenizer, settings: TaggerSettings, batch_size: int = 32, device: str | None = None,
                 bf16: bool | None = None, prefetch: bool | None = None, chunk_texts: int | None = None,
                 compile: bool = False, buckets: tuple[int, ...] = (32, 64, 128, 256, 512),
                 path: str | None = None, onnx_files: dict | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.settings = settings
        self.batch_size = batch_size
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.id2label = {int(k): v for k, v in model.config.id2label.items()}
        self.onnx_files = onnx_files or {}
        if path is None and bf16 is not None:  # bf16=True/False: PyTorch in that precision
            path, self.path_reason = ("torch-bf16" if bf16 else "torch-fp32"), "asked for"
        elif path is None:
            path, self.path_reason = path_choice(self.device.type, bf16_choice(self.device), set(self.onnx_files))
        else:
            self.path_reason = "asked for"
        needs = {"onnx-fp32": ("fp32",), "onnx-int8": ("int8",)}.get(path, ())
        if path not in PATHS or any(kind not in self.onnx_files for kind in needs):
            raise InputError(f"Tagger path {path!r}: " + (f"choose one of {', '.join(PATHS)}" if path not in PATHS else
                             "the model has no ONNX export of its weights (arner export-onnx MODEL)"))
        self.path = path
        self.bf16 = path == "torch-bf16"
        self.guard = GUARDS.get(path)  # close calls re-checked in fp32 (None: the path is fp32 already)
        self._onnx = {}  # kind -> arner.runtime.OnnxModel, opened on first use
        # Prefetch where the model runs elsewhere (a GPU); on a CPU both would share the same cores.
        self.prefetch = self.device.type == "cuda" if prefetch is None else prefetch
        self.chunk_texts = chunk_texts or 8 * batch_size
        self.compiled = None  # the torch.compile'd model, built on first use when ``compile``
        self.buckets = tuple(sorted({b for b in buckets if b < settings.max_length} | {settings.max_length})) if compile else None
        self.windows_seen = self.windows_rechecked = 0  # how often the guard fell back to fp32

    @classmethod
    def load(cls, model_dir: str | Path, labels: list[str] | None = None, **kwargs) -> "Tagger":
        """The model of ``model_dir``, checked before any tagging: tokenizer files, weights that load,
        a vocabulary the tokenizer fits, BIO ``id2label`` (over ``labels`` when given). Any failure
        is an InputError naming the folder: a broken model never tags silently nothing."""
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        from arner.schema import bio_problem
        from arner.snapshot import read_snapshot

        model_dir = Path(model_dir)
        if not (model_dir / "config.json").exists():
            raise InputError(f"{model_dir}: not a model directory (no config.json); train one with `make train`")
        if not any((model_dir / name).exists() for name in TOKENIZER_FILES):
            raise InputError(f"{model_dir}: no tokenizer files (none of {', '.join(TOKENIZER_FILES)})")
        try:
            tokenizer = AutoTokenizer.from_pretrained(model_dir)
            model = AutoModelForTokenClassification.from_pretrained(model_dir)
        except Exception as exc:  # noqa: BLE001 - whatever the library raises, the folder is what is wrong
            raise InputError(f"{model_dir}: cannot load the model: {(str(exc).strip() or type(exc).__name__).splitlines()[0]}") from None
        vocabulary = model.get_input_embeddings().num_embeddings
        if len(tokenizer) > vocabulary:
            raise InputError(f"{model_dir}: the tokenizer has {len(tokenizer)} tokens, more than the model's vocabulary "
                             f"({vocabulary}); they do not belong together")
        snapshot = read_snapshot(model_dir)  # labels, aliases, known forms, identity (arner/snapshot.py)
        if labels is None and not snapshot.legacy:
            labels = snapshot.label_names
        problem = bio_problem({int(k): v for k, v in model.config.id2label.items()}, labels)
        if problem:
            raise InputError(f"{model_dir}: {problem}")
        if not snapshot.legacy and "onnx_files" not in kwargs:
            from arner.runtime import exported_files

            kwargs["onnx_files"] = exported_files(model_dir, snapshot.version)
        tagger = cls(model, tokenizer, TaggerSettings.read(model_dir), **kwargs)
        tagger.snapshot, tagger._alias_lookup = snapshot, snapshot.alias_lookup()
        return tagger

    @property
    def identity(self) -> dict:
        """The model's name, version and what it was trained on (``arner.snapshot``)."""
        return self.snapshot.identity if self.snapshot else {"name": "unsaved", "version": "unsaved"}

    def _prepare(self, start: int, texts_words: list) -> Chunk:
        """The model inputs for some texts: windows sorted by length, batched, padded to a multiple of 8;
        each batch with the (row, first-subword position) of every word it owns and that word's index."""
        s = self.settings
        windows = make_windows(self.tokenizer, texts_words, s.normalize, s.max_length, s.window_overlap)
        offsets = np.concatenate([[0], np.cumsum([len(words) for words in texts_words])]).astype(np.int64)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
        pad, batches = self.tokenizer.pad_token_id, []
        for b in range(0, len(order), self.batch_size):
            batch = [windows[i] for i in order[b : b + self.batch_size]]
            longest = max(len(w.input_ids) for w in batch)
            if self.buckets:  # fixed shapes: the smallest bucket that fits, and always a full batch
                width, height = next(b for b in self.buckets if b >= longest), self.batch_size
            else:
                width, height = -(-longest // 8) * 8, len(batch)
            ids = np.full((height, width), pad, dtype=np.int64)
            ids[len(batch):, 0] = self.tokenizer.cls_token_id  # filler rows: never an all-masked row
            rows, positions, targets = [], [], []
            for row, w in enumerate(batch):
                ids[row, : len(w.input_ids)] = w.input_ids
                owned = (w.first_words >= w.owned[0]) & (w.first_words < w.owned[1])
                positions.append(w.first_positions[owned])
                targets.append(w.first_words[owned] + offsets[w.text_index])
                rows.append(np.full(len(positions[-1]), row))
            input_ids = torch.from_numpy(ids)
            if self.device.type == "cuda":
                input_ids = input_ids.pin_memory()  # so the copy to the GPU can overlap with its work
            batches.append((input_ids, *(torch.from_numpy(np.concatenate(a)) for a in (rows, positions, targets))))
        return Chunk(start, texts_words, offsets, batches, len(windows))

    def _chunks(self, items: list, split: bool):
        """Prepared chunks of ``items`` (texts, split into words here when ``split``, or lists of words). One
        chunk of everything, or with ``prefetch`` chunks of ``chunk_texts`` prepared by a background thread
        while the model runs on the one before."""
        size = self.chunk_texts if self.prefetch else max(len(items), 1)
        jobs = [lambda c=c: self._prepare(c, [split_words(t) for t in items[c : c + size]] if split else items[c : c + size])
                for c in range(0, len(items), size)]
        return in_background(jobs) if self.prefetch else (job() for job in jobs)

    @torch.no_grad()  # not inference_mode: the model may go on training (DDP rejects inference buffers)
    def _run(self, chunk: Chunk) -> torch.Tensor:
        """A [words of the chunk, labels] tensor of probabilities read from each word's owning window."""
        self.model.to(self.device).eval()
        flat = torch.zeros(int(chunk.offsets[-1]), len(self.id2label))
        self.windows_seen += chunk.windows
        for input_ids, rows, positions, targets in chunk.batches:
            input_ids = input_ids.to(self.device, non_blocking=True)
            rows, positions = rows.to(self.device, non_blocking=True), positions.to(self.device, non_blocking=True)
            probs = self._first_subword_probabilities(input_ids, rows, positions, self.bf16, self._model_to_run())
            if self.guard:
                self._recheck_close_calls(probs, input_ids, rows, positions)
            flat[targets] = probs.cpu()
        return flat

    def word_probabilities(self, texts_words, progress: bool = False) -> list[torch.Tensor]:
        """Per text, a [words, labels] tensor of probabilities read from each word's owning window.

        Windows are sorted by length and batched (padded to a multiple of 8); each batch's
        owned first-subword positions are gathered on the device in one indexing operation.
        ``progress`` shows a bar over the texts (for long runs such as ranking a whole pool).
        """
        out = []
        with tqdm(total=len(texts_words), unit="text", desc="tag", disable=not progress) as bar:
            for chunk in self._chunks(texts_words, split=False):
                flat = self._run(chunk)
                out += [flat[chunk.offsets[i] : chunk.offsets[i + 1]] for i in range(len(chunk.words))]
                bar.update(len(chunk.words))
        return out

    def _onnx_model(self, kind: str):
        if kind not in self._onnx:
            from arner.runtime import OnnxModel

            self._onnx[kind] = OnnxModel(self.onnx_files[kind])
        return self._onnx[kind]

    def _model_to_run(self):
        if self.path.startswith("onnx-"):
            return self._onnx_model(self.path.removeprefix("onnx-"))
        if not self.buckets:
            return self.model
        if self.compiled is None:
            self.compiled = torch.compile(self.model, dynamic=False)
        return self.compiled

    def _first_subword_probabilities(self, input_ids, rows, positions, bf16: bool, model=None) -> torch.Tensor:
        pad = self.tokenizer.pad_token_id
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = (self.model if model is None else model)(input_ids=input_ids, attention_mask=(input_ids != pad).long()).logits
        return logits[rows, positions].float().softmax(-1)

    def _recheck_close_calls(self, probs, input_ids, rows, positions) -> None:
        """Recompute in fp32, in place, every window holding a word whose two best labels are
        within the path's guard (``GUARDS``): the approximation then cannot change a decision."""
        top2 = probs.topk(2, -1).values
        close = top2[:, 0] - top2[:, 1] < self.guard
        redo = rows[close].unique()
        self.windows_rechecked += len(redo)
        if not len(redo):
            return
        in_redo = torch.isin(rows, redo)
        new_row = torch.full((len(input_ids),), -1, dtype=torch.long, device=rows.device)
        new_row[redo] = torch.arange(len(redo), device=rows.device)
        fp32 = self._onnx_model("fp32") if self.path == "onnx-int8" and "fp32" in self.onnx_files else self.model
        probs[in_redo] = self._first_subword_probabilities(input_ids[redo], new_row[rows[in_redo]], positions[in_redo], False, fp32)

    @staticmethod
    def _entities(text: str, words, tags: list[str], best: torch.Tensor) -> list[dict]:
        """The spans of a text's best IOB2 tags, each scored by the mean probability of its words' tags (``best``)."""
        if not words:
            return []
        return [{"start": start, "end": end, "label": label, "text": text[start:end],
                 "score": round(float(best[first:last].mean()), 4)}
                for start, end, label, first, last in tags_to_spans(words, repair_iob2(tags))]

    def tag(self, texts: list[str], enrich: bool = True) -> list[list[dict]]:
        """Entities per text: ``start``, ``end``, ``label``, ``text`` (== text[start:end]), ``score``.

        With ``enrich`` (the default) each entity also gets ``normalized`` (no proclitics,
        tashkeel or tatweel), ARMED_GROUP ``canonical`` (the alias table saved with the model) and COUNT
        ``value``/``range``/``qualifier``/``unit``/``unit_singular`` (``arner.normalize.enrich``).
        """
        from arner.normalize import enrich as add_fields

        tables = (self.snapshot.known_forms, self._alias_lookup) if self.snapshot else ()  # else: this checkout's files
        results = []
        for chunk in self._chunks(texts, split=True):
            best, ids = self._run(chunk).max(-1)  # the best label of every word of the chunk, in one operation
            tags, at = [self.id2label[i] for i in ids.tolist()], chunk.offsets
            for i, (text, words) in enumerate(zip(texts[chunk.start : chunk.start + len(chunk.words)], chunk.words)):
                entities = self._entities(text, words, tags[at[i] : at[i + 1]], best[at[i] : at[i + 1]])
                results.append([add_fields(e, *tables) for e in entities] if enrich else entities)
        return results

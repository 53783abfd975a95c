"""ONNX Runtime files of a saved model (``MODEL/onnx/``): the fast CPU paths of ``Tagger``.

``arner export-onnx MODEL`` (``make onnx``) writes, from the model's own weights:

- ``model.onnx``: the fp32 graph with ONNX Runtime's transformer fusions (embedding LayerNorm,
  multi-head Attention, bias+GELU, skip+LayerNorm): the same numbers as PyTorch fp32
  (largest logit difference about 1e-6), fewer and faster kernels;
- ``model-int8.onnx``: the same graph with the encoder's attention (Q, K, V and output) and
  feed-forward input layers in int8: weights per output channel, activations quantised on the fly
  (``quantize_dynamic``), after SmoothQuant-style smoothing: each input channel is divided by
  ``s = max|x|**0.5 / max|w|**0.5`` (a ``Mul`` before the layer) and the weight's row multiplied by
  it, with ``max|x|`` measured on calibration text, so a few outlier channels no longer set the
  scale for all. The feed-forward output layers (after GELU: the outliers that flipped most
  decisions), the classifier and the embeddings stay fp32. ``Tagger`` re-checks every window with a
  close call (``GUARDS``) on the fp32 graph: on the offline model 1 of 46 written test documents
  then differs from fp32 (-0.12 F1 points), none of the 200 real-news ones; without the re-check
  9 and 9 did. Weight-only block int8 (``MatMulNBits``) needed no re-check but was only 10-15%
  faster than fp32; without smoothing, dynamic int8 flipped decisions with margins up to 0.55;
- ``export.json``: the model version it was exported from (``arner-snapshot.json``), so files
  left over from other weights are never used.

The graph is exported with eager attention (plain MatMul/Softmax), the form the fusions
recognise; ``attn_implementation="sdpa"`` exports a graph whose padding mask is wrong.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from arner.errors import InputError

ONNX_DIR = "onnx"
FP32_FILE, INT8_FILE, EXPORT_FILE = "model.onnx", "model-int8.onnx", "export.json"
CALIBRATION_SENTENCES = 1000
SMOOTHING = 0.5  # SmoothQuant alpha: how much of each activation outlier moves into the weights


def installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def exported_files(model_dir: Path, version: str) -> dict[str, Path]:
    """The ONNX files of ``model_dir`` exported from the weights of ``version`` ({"fp32": path, "int8": path}),
    or none: not exported, exported from other weights, or ONNX Runtime not installed."""
    folder = Path(model_dir) / ONNX_DIR
    try:
        record = json.loads((folder / EXPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if record.get("version") != version or not installed():
        return {}
    return {kind: folder / name for kind, name in (("fp32", FP32_FILE), ("int8", INT8_FILE)) if (folder / name).exists()}


def calibration_texts(corpus: Path, labels: Path, limit: int = CALIBRATION_SENTENCES) -> list[str]:
    """The first ``limit`` sentences of a gold corpus's train split: text the int8 smoothing is measured on."""
    from arner.documents import load_corpus
    from arner.schema import load_schema
    from arner.splits import split_documents
    from arner.text import split_sentences

    documents = split_documents(load_corpus(corpus, load_schema(labels)))["train"]
    texts = [d.text[a:b] for d in documents for a, b in split_sentences(d.text)][:limit]
    if not texts:
        raise InputError(f"{corpus}: no training sentences to calibrate the int8 graph on")
    return texts


class OnnxModel:
    """An ONNX Runtime session called like the PyTorch model: ``model(input_ids=, attention_mask=).logits``."""

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()  # the cores torch would use
        options.inter_op_num_threads = 1  # one graph at a time: parallel branches would fight over the same cores
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        feed = {"input_ids": input_ids.cpu().numpy(), "attention_mask": attention_mask.cpu().numpy()}
        return SimpleNamespace(logits=torch.from_numpy(self.session.run(None, feed)[0]))


def export_onnx(model_dir: Path, version: str, calibration: list[str], overwrite: bool = False) -> Path:
    """Write ``model_dir/onnx/`` (fp32 fused and int8 graphs, export record) via a temporary folder;
    ``calibration``: texts whose activation ranges set the int8 smoothing (``calibration_texts``)."""
    if not calibration:
        raise InputError(f"{model_dir}: no calibration texts for the int8 graph")
    if not installed():
        raise InputError("ONNX Runtime is not installed: pip install 'arner[onnx]' (make setup installs it)")
    model_dir = Path(model_dir)
    final = model_dir / ONNX_DIR
    if final.exists() and not overwrite:
        raise InputError(f"{final}: already exported; pass --overwrite to export again")
    tmp = model_dir / f".{ONNX_DIR}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _write_graphs(model_dir, tmp, version, calibration)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # nothing half-written is left behind
        raise
    old = model_dir / f".{ONNX_DIR}.old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def _write_graphs(model_dir: Path, folder: Path, version: str, calibration: list[str]) -> None:
    """The traced graph, fused (fp32) and smoothed and quantised (int8), and the export record, into ``folder``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModelForTokenClassification

    started = time.perf_counter()
    model = AutoModelForTokenClassification.from_pretrained(model_dir, attn_implementation="eager").eval()
    example = torch.full((2, 16), 5, dtype=torch.long)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(model, (example, torch.ones_like(example)), str(folder / "traced.onnx"), dynamo=False,
                          input_names=["input_ids", "attention_mask"], output_names=["logits"], opset_version=17,
                          dynamic_axes={name: {0: "batch", 1: "length"} for name in ("input_ids", "attention_mask", "logits")})
    config = model.config
    fused = optimizer.optimize_model(str(folder / "traced.onnx"), model_type="bert", num_heads=config.num_attention_heads,
                                     hidden_size=config.hidden_size)
    fusions = {k: v for k, v in fused.get_fused_operator_statistics().items() if v}
    fused.save_model_to_file(str(folder / FP32_FILE))
    (folder / "traced.onnx").unlink()
    graph = onnx.load(str(folder / FP32_FILE))
    smoothed = _smooth(graph, _input_ranges(model_dir, model, calibration))
    onnx.save(graph, str(folder / "smoothed.onnx"))
    keep_fp32 = [n.name for n in graph.graph.node if n.op_type in ("Mul", "EmbedLayerNormalization")
                 or (n.op_type == "MatMul" and _layer_part(n.name) in (None, "output.dense"))]
    with _quiet_logging():
        quantize_dynamic(str(folder / "smoothed.onnx"), str(folder / INT8_FILE), per_channel=True, weight_type=QuantType.QInt8,
                         nodes_to_exclude=keep_fp32, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    (folder / "smoothed.onnx").unlink()
    record = {"version": version, "onnxruntime": __import__("onnxruntime").__version__, "fusions": fusions,
              "int8": f"{smoothed} layers smoothed (alpha {SMOOTHING}) on {len(calibration)} calibration texts, int8 weights per "
                      "channel and dynamic int8 activations; feed-forward output, classifier and embeddings fp32",
              "seconds": round(time.perf_counter() - started, 1)}
    (folder / EXPORT_FILE).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def _layer_part(node_name: str) -> str | None:
    """``attention.output.dense``, ``intermediate.dense`` or ``output.dense`` for an encoder MatMul of the traced graph."""
    if not node_name.startswith("/bert/encoder/layer."):
        return None
    return next(part for marker, part in (("/attention/output/", "attention.output.dense"), ("/intermediate/", "intermediate.dense"),
                                          ("/output/", "output.dense")) if marker in node_name)


def _input_ranges(model_dir: Path, model, texts: list[str]) -> dict[str, torch.Tensor]:
    """Per encoder Linear layer, the largest |input| of each channel while the model tags ``texts`` in fp32."""
    from arner.tagger import Tagger, TaggerSettings
    from transformers import AutoTokenizer

    ranges: dict[str, torch.Tensor] = {}

    def record(name):
        def hook(module, inputs, output):
            x = inputs[0].detach().abs().flatten(0, -2).amax(0)
            ranges[name] = torch.maximum(ranges[name], x) if name in ranges else x
        return hook

    hooks = [m.register_forward_hook(record(name)) for name, m in model.named_modules()
             if isinstance(m, torch.nn.Linear) and ".encoder.layer." in name]
    try:
        Tagger(model, AutoTokenizer.from_pretrained(model_dir), TaggerSettings.read(model_dir), path="torch-fp32").tag(texts)
    finally:
        for h in hooks:
            h.remove()
    return {name.split("encoder.", 1)[1]: value for name, value in ranges.items()}


def _smooth(graph, ranges: dict[str, torch.Tensor]) -> int:
    """Divide each quantised layer's input channels by ``s`` (a new ``Mul``) and multiply its weight rows by ``s``:
    the same function, with activation outliers moved into the per-channel-quantised weights. Returns the count."""
    from onnx import helper, numpy_helper

    weights = {w.name: w for w in graph.graph.initializer}
    attention_layers = 0  # fused Attention nodes come in layer order
    inserted = []
    for node in graph.graph.node:
        part = _layer_part(node.name) if node.op_type == "MatMul" else None
        if node.op_type == "Attention":  # fused Q, K, V: input 1 is their weights side by side
            layer = f"layer.{attention_layers}.attention.self.query"
            attention_layers += 1
        elif part in ("attention.output.dense", "intermediate.dense"):
            layer = f"layer.{node.name.split('layer.')[1].split('/')[0]}.{part}"
        else:
            continue
        w = numpy_helper.to_array(weights[node.input[1]])  # [in, out]
        x = ranges[layer].clamp(min=1e-5).numpy()
        s = (x**SMOOTHING / np.abs(w).max(1).clip(1e-5) ** (1 - SMOOTHING)).astype(np.float32)
        weights[node.input[1]].CopyFrom(numpy_helper.from_array(w * s[:, None], node.input[1]))
        graph.graph.initializer.append(numpy_helper.from_array(1 / s, f"{layer}.smoothing"))
        smoothed = f"{node.input[0]}/{layer}.smoothed"
        inserted.append((node, helper.make_node("Mul", [node.input[0], f"{layer}.smoothing"], [smoothed], name=f"{layer}.smooth")))
        node.input[0] = smoothed
    nodes = list(graph.graph.node)
    for consumer, mul in inserted:  # each Mul right before its layer: the graph stays in topological order
        nodes.insert(nodes.index(consumer), mul)
    graph.graph.ClearField("node")
    graph.graph.node.extend(nodes)
    return len(inserted)


@contextlib.contextmanager
def _quiet_logging():
    """ONNX Runtime's quantiser logs a line per tensor at INFO on the root logger."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.setLevel(level)

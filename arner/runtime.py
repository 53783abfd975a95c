"""ONNX Runtime files of a saved model (``MODEL/onnx/``): the fast CPU paths of ``Tagger``.

``arner export-onnx MODEL`` (``make onnx``) writes, from the model's own weights:

- ``model.onnx``: the fp32 graph with ONNX Runtime's transformer fusions (embedding LayerNorm,
  multi-head Attention, bias+GELU, skip+LayerNorm): the same numbers as PyTorch fp32
  (largest logit difference about 1e-6), fewer and faster kernels;
- ``model-int8.onnx``: the same graph with the encoder's dense layers (attention output, feed-forward)
  in int8: weights in 8 bits per block of 32 inputs, activations quantised on the fly per block
  of 32 too (``MatMulNBits``, accuracy level 4), so one outlier dimension does not coarsen the
  rest and a text's result does not depend on the batch it is in; the fused attention
  projections, the classifier and the embeddings stay fp32. Measured against fp32: micro-F1
  within 0.2 points (the bench states the difference). Per-tensor dynamic int8
  (``quantize_dynamic``) ran twice as fast but lost 0.8 points on the real news and changed a
  text's entities with its batch, so it is not used;
- ``export.json``: the model version it was exported from (``arner-snapshot.json``), so files
  left over from other weights are never used.

The graph is exported with eager attention (plain MatMul/Softmax), the form the fusions
recognise; ``attn_implementation="sdpa"`` exports a graph whose padding mask is wrong.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import torch

from arner.errors import InputError

ONNX_DIR = "onnx"
FP32_FILE, INT8_FILE, EXPORT_FILE = "model.onnx", "model-int8.onnx", "export.json"


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


def export_onnx(model_dir: Path, version: str, overwrite: bool = False) -> Path:
    """Write ``model_dir/onnx/`` (fp32 fused and int8 graphs, export record) via a temporary folder."""
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
        _write_graphs(model_dir, tmp, version)
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


def _write_graphs(model_dir: Path, folder: Path, version: str) -> None:
    """The traced graph, fused (fp32) and quantised (int8), and the export record, into ``folder``."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
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
    classifier = [n.name for n in fused.model.graph.node if n.op_type == "MatMul" and n.name.startswith("/classifier/")]
    quantizer = MatMulNBitsQuantizer(onnx.load(str(folder / FP32_FILE)), bits=8, block_size=32, is_symmetric=True,
                                     accuracy_level=4, nodes_to_exclude=classifier)
    quantizer.process()
    quantizer.model.save_model_to_file(str(folder / INT8_FILE), use_external_data_format=False)
    record = {"version": version, "onnxruntime": __import__("onnxruntime").__version__, "fusions": fusions,
              "int8": "encoder MatMul weights in 8 bits, blocks of 32, activations in int8 per block (accuracy level 4); "
                      "attention projections, classifier and embeddings fp32",
              "seconds": round(time.perf_counter() - started, 1)}
    (folder / EXPORT_FILE).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

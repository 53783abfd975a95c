"""The Tagger's paths: which one a machine gets (flags and exported files in, path out), the ONNX
Runtime export of a trained model, and every optimised path's entities against PyTorch fp32."""

import json
import shutil

import pytest
import torch

from arner.documents import load_corpus
from arner.errors import InputError
from arner.evaluate import predict_documents, score
from arner.runtime import EXPORT_FILE, FP32_FILE, INT8_FILE, ONNX_DIR, calibration_texts, export_onnx
from arner.schema import load_schema
from arner.snapshot import read_snapshot
from arner.splits import split_documents
from arner.tagger import Tagger, path_choice
from conftest import ROOT

LABELS = ROOT / "configs" / "labels.yaml"
NO_BF16 = (False, "fp32: the CPU has neither AMX nor AVX512-BF16")


@pytest.mark.parametrize("device, bf16, exported, expected", [
    ("cpu", (True, "bf16: the CPU has AVX512-BF16"), {"fp32", "int8"}, ("torch-bf16", "bf16: the CPU has AVX512-BF16")),
    ("cpu", NO_BF16, {"fp32", "int8"}, ("onnx-int8", f"{NO_BF16[1]}; ONNX Runtime int8 dense layers (MODEL/onnx/)")),
    ("cpu", NO_BF16, {"fp32"}, ("onnx-fp32", f"{NO_BF16[1]}; ONNX Runtime fused fp32 graph (MODEL/onnx/)")),
    ("cpu", NO_BF16, set(), ("torch-fp32", f"{NO_BF16[1]}; no ONNX export (arner export-onnx MODEL makes one)")),
    ("cpu", (False, "fp32: ARNER_NO_BF16=1"), {"fp32", "int8"},
     ("onnx-int8", "fp32: ARNER_NO_BF16=1; ONNX Runtime int8 dense layers (MODEL/onnx/)")),
    ("cuda", (True, "bf16: CUDA GPU with bf16"), {"fp32", "int8"}, ("torch-bf16", "bf16: CUDA GPU with bf16")),
    ("cuda", (False, "fp32: this GPU has no bf16"), {"fp32", "int8"}, ("torch-fp32", "fp32: this GPU has no bf16")),
])
def test_the_machine_and_the_exported_files_choose_the_path(device, bf16, exported, expected):
    assert path_choice(device, bf16, exported) == expected


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    """A copy of the trained tiny model, exported to ONNX Runtime (the session's model stays as it is)."""
    model_dir = tmp_path_factory.mktemp("onnx") / "tiny"
    shutil.copytree(trained[1], model_dir)
    export_onnx(model_dir, read_snapshot(model_dir).version, calibration_texts(ROOT / "annotations" / "gold", LABELS, 200))
    return model_dir


def test_the_export_is_tied_to_the_weights_it_came_from(exported, monkeypatch):
    record = json.loads((exported / ONNX_DIR / EXPORT_FILE).read_text(encoding="utf-8"))
    assert record["version"] == read_snapshot(exported).version
    assert record["fusions"] == {"EmbedLayerNormalization": 1, "Attention": 2, "BiasGelu": 2, "SkipLayerNormalization": 4}
    # Per layer: fused Q/K/V, attention output and feed-forward input smoothed and quantised.
    assert record["int8"].startswith("6 layers smoothed (alpha 0.5) on 200 calibration texts")
    assert sorted(p.name for p in (exported / ONNX_DIR).iterdir()) == sorted([EXPORT_FILE, FP32_FILE, INT8_FILE])
    with pytest.raises(InputError, match=f"^{exported / ONNX_DIR}: already exported; pass --overwrite to export again$"):
        export_onnx(exported, record["version"], ["نص"])
    with pytest.raises(InputError, match=f"^{exported}: no calibration texts for the int8 graph$"):
        export_onnx(exported, record["version"], [], overwrite=True)
    monkeypatch.setenv("ARNER_NO_BF16", "1")  # a CPU without bf16, on any machine
    tagger = Tagger.load(exported)
    assert (tagger.path, tagger.path_reason) == ("onnx-int8", "fp32: ARNER_NO_BF16=1; ONNX Runtime int8 dense layers (MODEL/onnx/)")
    # Files exported from other weights are never used.
    stale = exported.parent / "stale"
    shutil.copytree(exported, stale)
    (stale / ONNX_DIR / EXPORT_FILE).write_text(json.dumps(record | {"version": "tiny-00000000"}), encoding="utf-8")
    assert Tagger.load(stale).path == "torch-fp32"


def test_an_onnx_path_without_an_export_is_refused(trained):
    with pytest.raises(InputError, match="^Tagger path 'onnx-fp32': the model has no ONNX export of its weights"):
        Tagger.load(trained[1], path="onnx-fp32")
    with pytest.raises(InputError, match="^Tagger path 'int4': choose one of torch-fp32, torch-bf16, onnx-fp32, onnx-int8$"):
        Tagger.load(trained[1], path="int4")


def test_every_optimised_path_keeps_parity_with_fp32_on_the_gold_test_split(exported):
    """bf16 (guarded) and ONNX Runtime fp32 give fp32's entities exactly; int8 keeps micro-F1 within 0.2 points."""
    schema = load_schema(ROOT / "configs" / "labels.yaml")
    docs = split_documents(load_corpus(ROOT / "annotations" / "gold", schema))["test"]
    plain = Tagger.load(exported, path="torch-fp32", batch_size=1)
    reference = [p for d in docs for p in predict_documents(plain, [d])]  # one text at a time

    def spans(predicted):
        return [[(e.start, e.end, e.label) for e in p.entities] for p in predicted]

    results = {path: predict_documents(Tagger.load(exported, path=path, batch_size=16), docs)
               for path in ("torch-bf16", "onnx-fp32", "onnx-int8")}
    assert spans(results["torch-bf16"]) == spans(reference)
    assert spans(results["onnx-fp32"]) == spans(reference)
    f1 = {name: score(docs, predicted, schema.names)["micro"]["f1"] for name, predicted in
          (("fp32", reference), ("int8", results["onnx-int8"]))}
    assert f1["fp32"] > 0.3  # a model that finds entities, so the comparison means something
    assert abs(f1["int8"] - f1["fp32"]) <= 0.002
    logits = {path: Tagger.load(exported, path=path)._model_to_run()(input_ids=torch.tensor([[2, 50, 60, 3]]),
                                                                     attention_mask=torch.ones(1, 4, dtype=torch.long)).logits
              for path in ("torch-fp32", "onnx-fp32")}
    assert torch.allclose(logits["onnx-fp32"], logits["torch-fp32"], atol=1e-4)

"""Which precision the tagger and trainer choose, from the hardware's features."""

import pytest
import torch

from arner.tagger import bf16_choice, cpu_bf16_choice


@pytest.mark.parametrize("amx, avx512_bf16, expected", [
    (True, True, (True, "bf16: the CPU has AMX tiles")),
    (True, False, (True, "bf16: the CPU has AMX tiles")),
    (False, True, (True, "bf16: the CPU has AVX512-BF16")),   # AMD Zen 4, Intel Cooper Lake
    (False, False, (False, "fp32: the CPU has neither AMX nor AVX512-BF16")),
])
def test_cpu_features_choose_the_precision(amx, avx512_bf16, expected):
    assert cpu_bf16_choice(amx, avx512_bf16) == expected


def test_fp32_can_be_forced_to_measure_that_path_anywhere(monkeypatch):
    monkeypatch.setenv("ARNER_NO_BF16", "1")
    assert bf16_choice(torch.device("cpu")) == (False, "fp32: ARNER_NO_BF16=1")

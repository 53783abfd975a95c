"""arner: Arabic conflict-news NER (armed groups, locations, counts).

The package holds the reusable logic: label schema, Arabic text handling, span/word
alignment, corpus I/O and validation, training, evaluation and the inference API.
Other pipelines only need ``from arner import Tagger``.
"""

__all__ = ["Tagger"]


def __getattr__(name: str):
    # Lazy, so that corpus tools do not import torch.
    if name == "Tagger":
        from arner.tagger import Tagger

        return Tagger
    raise AttributeError(name)

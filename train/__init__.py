"""The training stage (`make train`, `make dataset`): not installed with the ``arner`` package.

``python -m train.train CONFIG`` is the entry point; ``train.dataset`` turns the corpus into a
``datasets.DatasetDict`` and training windows, ``train.trainer`` is the project's ``Trainer``.
Runs are keyed by their inputs in ``arner.runs`` (the model folder's run record is read there too).
"""

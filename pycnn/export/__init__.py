"""Take a model out of the playground: Keras and PyTorch scripts, model JSON, training logs.

>>> from pycnn import export
>>> code = export.to_keras(model, dataset="mnist", epochs=5, link=url)   # a runnable .py
>>> code = export.to_pytorch(model, dataset="mnist", epochs=5)
>>> text = export.model_json(model)       # Keras's JSON format; pycnn reads it back too
>>> model.save_weights("cnn_weights.npz")  # the weights both scripts load
>>> export.write_tensorboard_log(history, "logs")   # tensorboard --logdir logs

Pure Python and NumPy, so the page makes every file in the browser. What each
file holds and how to use it: docs/EXPORT.md.
"""

from .keras_code import to_keras
from .logs import history_from_events, log_zip, scalars_csv
from .model_json import model_config, model_json
from .pytorch_code import to_pytorch
from .script import (
    KERAS_FILENAME,
    LOGS_FILENAME,
    MODEL_JSON_FILENAME,
    PYTORCH_FILENAME,
    WEIGHTS_FILENAME,
)
from .tensorboard import event_files, write_tensorboard_log

__all__ = [
    "KERAS_FILENAME",
    "LOGS_FILENAME",
    "MODEL_JSON_FILENAME",
    "PYTORCH_FILENAME",
    "WEIGHTS_FILENAME",
    "event_files",
    "history_from_events",
    "log_zip",
    "model_config",
    "model_json",
    "scalars_csv",
    "to_keras",
    "to_pytorch",
    "write_tensorboard_log",
]

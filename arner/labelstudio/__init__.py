"""The Label Studio client, the only place that talks to Label Studio, one module per job:

- ``server``: credentials (``.env``), the local server (127.0.0.1, data in a git-ignored folder),
  the SDK client and the one project (labeling config from ``configs/labels.yaml``);
- ``tasks``: raw text -> tasks (long documents split, offsets kept, content-hashed), predictions;
- ``export``: an export -> gold documents (annotation choice, validation, one file per round);
- ``agreement``: annotators compared on the same tasks;
- ``annotators``: adding annotator accounts; ``guards``: the server URL and export files checked.

Spans keep Label Studio's code-point offsets unchanged all the way. The names below are the
client's API (``from arner import labelstudio as ls``; ``ls.connect(...)``).
"""

from arner.labelstudio.server import (  # noqa: F401
    DEFAULT_URL, DEFAULT_USERNAME, DEFAULT_PROJECT, FROM_NAME, TO_NAME, Settings, read_env_file, load_settings, ensure_credentials, health, server_executable, start_server, stop_server, connect, label_config, find_project, ProjectSettings, load_project_settings, ensure_project, project_id,
)
from arner.labelstudio.tasks import (  # noqa: F401
    MAX_TASK_CHARS, read_raw, content_hash, split_document, make_tasks, span_results, prediction, existing_hashes, import_tasks, tasks_without_predictions, push_predictions,
)
from arner.labelstudio.export import (  # noqa: F401
    ACCEPTED, download_export, iter_export, annotation_time, choose_annotation, result_entities, Conversion, convert_task, convert_export, merge_into, TASKS_PER_FILE, shard_of, convert_export_file,
)
from arner.labelstudio.agreement import (  # noqa: F401
    annotator_spans, cohen_kappa, measure_agreement, agreement_markdown, latest_export,
)

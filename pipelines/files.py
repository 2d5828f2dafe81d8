"""Text and JSON written atomically (`keras_shufflenet._files`: a reader, or a run
killed half-way, never sees a half-written file; a full disk names the file kept)."""

import json

from keras_shufflenet._files import TEMPORARY_PREFIX, DiskFullError, atomic_path, remove_temporaries  # noqa: F401


def write_text(path, text):
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)

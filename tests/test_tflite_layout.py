"""`tflite/` is split by where code runs: `tflite/device/` holds what goes to the device
(the benchmark tool and what it is made of) and imports only the standard library,
numpy, the LiteRT runtime and two optional extras; never Keras or TensorFlow.

Every import is read from the source (those inside functions and `try` blocks too),
so a fallback import that only runs on some machines cannot slip through."""

import ast
import pathlib
import subprocess
import sys

import pytest

from keras_shufflenet.tflite import benchmark as public_benchmark
from keras_shufflenet.tflite import device
from keras_shufflenet.tflite.device import benchmark

DEVICE_DIR = pathlib.Path(device.__file__).resolve().parent
DEVICE_FILES = sorted(path for path in DEVICE_DIR.glob("*.py"))
SIBLINGS = {path.stem for path in DEVICE_FILES} - {"__init__"}
# Third-party modules the device code may import: numpy, the two LiteRT runtimes and
# the flatbuffers package ai-edge-litert depends on; Pillow (--input=DIR of images) and
# matplotlib (--plot) are optional and imported only when asked for.
ALLOWED_THIRD_PARTY = {"numpy", "ai_edge_litert", "tflite_runtime", "flatbuffers", "PIL", "matplotlib"}


def imported_modules(path):
    """(line, top-level module) of every import in `path`; relative imports of the
    package give the sibling module they name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.lineno, node.module.split(".")[0]))
            elif node.level == 1 and node.module:
                found.append((node.lineno, node.module.split(".")[0]))
            elif node.level == 1:
                found += [(node.lineno, alias.name) for alias in node.names]
            else:
                found.append((node.lineno, "." * node.level + (node.module or "")))
        elif isinstance(node, ast.Call):
            # importlib.import_module("x") / __import__("x") with a literal name.
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name in ("import_module", "__import__") and node.args:
                if isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                    found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def test_standalone_files_are_the_device_folder():
    """What the docs tell users to copy is exactly what the folder holds."""
    assert set(benchmark.STANDALONE_FILES) == {f"{name}.py" for name in SIBLINGS}
    assert len(benchmark.STANDALONE_FILES) == 8


@pytest.mark.parametrize("path", DEVICE_FILES, ids=lambda path: path.name)
def test_device_code_imports_only_numpy_and_litert(path):
    allowed = set(sys.stdlib_module_names) | ALLOWED_THIRD_PARTY | SIBLINGS
    bad = [f"{path.name}:{line}: {module}" for line, module in imported_modules(path) if module not in allowed]
    assert not bad, "device code must not import these:\n" + "\n".join(bad)


def test_the_reader_sees_imports_inside_functions(tmp_path):
    """The check itself: a TensorFlow import hidden in a function's fallback is found."""
    source = tmp_path / "sneaky.py"
    source.write_text(
        "import os\n"
        "def schema():\n"
        "    try:\n"
        "        from ai_edge_litert import schema_py_generated\n"
        "    except ImportError:\n"
        "        from tensorflow.lite.python import schema_py_generated\n"
        "    import importlib\n"
        "    return importlib.import_module('keras')\n"
    )
    modules = {module for _, module in imported_modules(source)}
    assert modules == {"os", "ai_edge_litert", "tensorflow", "importlib", "keras"}


def test_public_benchmark_command_forwards_to_the_device_tool():
    """`python -m keras_shufflenet.tflite.benchmark` is the command the docs give."""
    done = subprocess.run([sys.executable, "-m", "keras_shufflenet.tflite.benchmark", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage: python -m keras_shufflenet.tflite.benchmark" in done.stdout
    assert public_benchmark.benchmark_models is benchmark.benchmark_models
    assert public_benchmark.main is benchmark.main

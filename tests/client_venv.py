"""Virtual environments for the Android-side clients checked against our exports
(MediaPipe Tasks, the TFLite Task Library): their pins clash with TensorFlow's, so
each gets its own venv, made once and cached under ~/.cache/keras_shufflenet.
The tests skip, saying why, when an environment cannot be made (no package index).
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

INSTALL_TIMEOUT = 240
CACHE = pathlib.Path.home() / ".cache" / "keras_shufflenet"


def last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def client_python(venv, packages, probe):
    """The python of `venv` with `packages` installed (made on first use) in which
    the code `probe` runs; skips the test when that cannot be had."""
    venv = pathlib.Path(venv)
    python = venv / "bin" / "python"
    if not python.exists():
        venv.parent.mkdir(parents=True, exist_ok=True)
        staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{venv.name}-", dir=venv.parent))
        try:
            subprocess.run([sys.executable, "-m", "venv", str(staging)], check=True, capture_output=True)
            install = subprocess.run(
                [str(staging / "bin" / "python"), "-m", "pip", "install", "-q", *packages],
                capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
            )
            if install.returncode != 0:
                pytest.skip(f"cannot install {' '.join(packages)} in a venv: {last_line(install.stderr)}")
            os.replace(staging, venv)  # only a complete environment gets the cached name
        except (subprocess.SubprocessError, OSError) as error:
            pytest.skip(f"cannot make a venv for {' '.join(packages)}: {error}")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    check = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    if check.returncode != 0:
        pytest.skip(f"{probe!r} fails in {venv}: {last_line(check.stderr)}")
    return python

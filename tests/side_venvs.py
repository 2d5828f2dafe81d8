"""Virtual environments some tests need beside the main one (MediaPipe, whose absl-py
pin clashes with ours; a bare numpy + LiteRT one for the copied benchmark files), made
once from the package registry and cached in ~/.cache/keras_shufflenet/<name>.

    python = side_venvs.cached_venv("mediapipe-venv", ["mediapipe", "numpy"], probe="import mediapipe")

The policy lives here, for every such environment: a venv is built in a staging
folder and gets its cached name only once complete and its probe imports, so a
killed or failed install is never mistaken for a good one. A venv that cannot be
made skips the test with the pip error; under CI that skip fails the run
(conftest.ALLOWED_SKIPS does not list it), so CI is never green without the check.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "keras_shufflenet"
# pip from the registry on a slow CI link: mediapipe's wheels are ~100 MB.
INSTALL_TIMEOUT = 1200


def _last_line(text):
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def cached_venv(name, packages, *, probe, folder=None, timeout=INSTALL_TIMEOUT):
    """The python of a venv with `packages`, whose `probe` (Python code) must run.

    Args:
        name: the folder's name under the cache (or `folder`, its full path).
        packages: pip requirement strings.
        probe: code the venv's python must run without error (e.g. "import mediapipe").
        timeout: seconds the install may take.

    Skips the test (a failure under CI) with pip's own message if it cannot be made.
    """
    folder = pathlib.Path(folder) if folder else CACHE / name
    python = folder / "bin" / "python"
    if python.exists() and _probe(python, probe) is None:
        return python
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder.parent))
    try:
        base = getattr(sys, "_base_executable", sys.executable)
        made = subprocess.run([base, "-m", "venv", str(staging)], capture_output=True, text=True)
        if made.returncode != 0:
            pytest.skip(f"cannot create the {name} venv: {_last_line(made.stderr)}")
        try:
            install = subprocess.run(
                [str(staging / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                 *packages],
                capture_output=True, text=True, timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            pytest.skip(f"installing {' '.join(packages)} in the {name} venv took over {timeout} s")
        if install.returncode != 0:
            pytest.skip(f"cannot install {' '.join(packages)} in the {name} venv: {_last_line(install.stderr)}")
        error = _probe(staging / "bin" / "python", probe)
        if error is not None:
            pytest.skip(f"{probe!r} fails in the new {name} venv: {error}")
        os.replace(staging, folder)  # only a complete environment gets the cached name
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return python


def _probe(python, code):
    """None if `code` runs in `python`, else its last line of error."""
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return None if done.returncode == 0 else _last_line(done.stderr)

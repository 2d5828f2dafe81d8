"""Virtual environments for the Android-side clients our exports are checked in
(MediaPipe Tasks, the TFLite Task Library): their pins clash with TensorFlow's
(absl-py, protobuf), so each runs in its own venv, made on first use from PyPI
and cached under `~/.cache/keras_shufflenet/`.

    python = client_venv.venv_python(path, ("mediapipe", "numpy"), "import mediapipe")
"""

import contextlib
import fcntl
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

CACHE = pathlib.Path.home() / ".cache" / "keras_shufflenet"
INSTALL_TIMEOUT = 300


class ClientUnavailable(RuntimeError):
    """A client's environment cannot be made or does not import; the message says why."""


def last_line(text):
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _make_venv(staging, packages):
    """A venv in `staging` with `packages`. Without `ensurepip` (Colab, Debian without
    python3-venv) the venv is made bare and this Python's pip installs into it."""
    made = subprocess.run([sys.executable, "-m", "venv", str(staging)], capture_output=True, text=True)
    python = staging / "bin" / "python"
    if made.returncode == 0:
        install = [str(python), "-m", "pip", "install", "-q", *packages]
    else:
        shutil.rmtree(staging, ignore_errors=True)
        bare = subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(staging)], capture_output=True, text=True
        )
        if bare.returncode != 0:
            raise ClientUnavailable(f"cannot make a venv for {' '.join(packages)}: {last_line(bare.stderr)}")
        install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *packages]
    try:
        done = subprocess.run(install, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        raise ClientUnavailable(f"installing {' '.join(packages)} took over {INSTALL_TIMEOUT} s") from error
    if done.returncode != 0:
        raise ClientUnavailable(f"cannot install {' '.join(packages)} in a venv: {last_line(done.stderr)}")


def venv_python(venv, packages, probe):
    """The python of the venv at `venv` with `packages` installed (made on first
    use; only a complete environment gets the cached name), in which the code
    `probe` runs.

    Raises:
        ClientUnavailable: the venv cannot be made (no network to PyPI, no wheel
            for this platform) or `probe` fails in it.
    """
    venv = pathlib.Path(venv)
    python = venv / "bin" / "python"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _locked(venv.parent / f".{venv.name}.lock"):  # test workers asking at once: one makes it
        if not python.exists():
            _make_venv_atomically(venv, packages)
    check = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    if check.returncode != 0:
        raise ClientUnavailable(f"{probe!r} fails in {venv}: {last_line(check.stderr)}")
    return python


@contextlib.contextmanager
def _locked(path):
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _make_venv_atomically(venv, packages):
    """Makes the venv in a staging folder beside `venv`, renamed to it only when complete."""
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{venv.name}-", dir=venv.parent))
    try:
        _make_venv(staging, packages)
        os.replace(staging, venv)
    except OSError as error:
        raise ClientUnavailable(f"cannot make a venv for {' '.join(packages)} in {venv}: {error}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)

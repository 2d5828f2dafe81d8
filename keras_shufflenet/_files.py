"""Atomic file writes: a reader (or a run killed half-way) never sees a half-written
file, and a full disk says which file was kept. Standard library only: the weight
cache (`pretrained`) and the programs (`pipelines.files`) both write through it."""

import contextlib
import errno
import glob
import os
import tempfile

TEMPORARY_PREFIX = ".tmp-"
# Errors of a full disk or quota: reported as such, naming the file that was kept.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OSError):
    """No space left while writing a file; the previous version of it is intact."""


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path in `path`'s folder; on success it replaces `path`.

    The temporary name ends with `path`'s own name, so writers that check the
    suffix (`.keras`, `.weights.h5`, `.png`) accept it. On error nothing is left,
    and a full disk raises `DiskFullError` saying that `path` was kept as it was.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=TEMPORARY_PREFIX, suffix="-" + os.path.basename(path))
    except OSError as error:
        raise _disk_full(error, path) from error
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        os.replace(tmp, path)
    except OSError as error:
        raise _disk_full(error, path) from error
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _disk_full(error, path):
    """`error` itself, or a `DiskFullError` naming `path` if the disk is full."""
    if isinstance(error, DiskFullError) or getattr(error, "errno", None) not in DISK_FULL:
        return error
    kept = "its previous version is intact" if os.path.exists(path) else "nothing was written"
    return DiskFullError(error.errno, f"No space left on the device while writing {path}; {kept}. "
                                      "Free some space and run again.")


def remove_temporaries(directory):
    """Deletes what writers killed mid-write (SIGKILL runs no cleanup) left in `directory`."""
    for leftover in glob.glob(os.path.join(directory, TEMPORARY_PREFIX + "*")):
        os.remove(leftover)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask

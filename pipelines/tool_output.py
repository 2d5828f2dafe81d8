"""Program output that reads like a tool's: our lines on the terminal, the frameworks' in a log.

    with tool_output.framework_logs_to("runs/demo/demo.log"):
        ...   # print() and sys.stderr reach the terminal; TensorFlow's logs go to the file

TensorFlow writes its own lines from C++ straight to the process's file
descriptors 1 and 2 (oneDNN and CUDA notes at import, "fully_quantize: ..." from
the int8 quantizer) and, through absl and Python logging, its INFO lines (SavedModel
signature renaming, sharding callbacks, assets, fingerprints, "Using new
converter"). No environment variable silences all of them (`TF_CPP_MIN_LOG_LEVEL`
misses the lines printed before absl's logging starts), so the programs move the
descriptors themselves: 1 and 2 go to the log, and `sys.stdout` / `sys.stderr`
are reopened on the terminal, so everything the programs print themselves
(progress, summaries, warnings, errors, tracebacks) is seen, and nothing else.
"""

import contextlib
import logging
import os
import sys
import tempfile

_ACTIVE = []  # the log of the redirecting block, while one runs


def program_output(module_name):
    """For a program's module, called before it imports TensorFlow: an ExitStack
    that, when the module runs as `__main__`, already holds `framework_logs_to()`,
    so TensorFlow's lines from its import on go to the log. Run the program
    inside `with` it."""
    stack = contextlib.ExitStack()
    if module_name == "__main__":
        stack.enter_context(framework_logs_to())
    return stack


@contextlib.contextmanager
def framework_logs_to(path=None):
    """Runs the block with file descriptors 1 and 2 going to `path` (appended),
    `sys.stdout` and `sys.stderr` staying on the terminal, and Python logging
    below WARNING off for TensorFlow.

    With `path=None` the log is a temporary file, removed when the block
    succeeds (or exits with status 0) and named on stderr otherwise, so a
    failure is never silent.

    Inside a block already redirecting (a program that started one before its
    imports, as `pipelines.train` does), it only yields that block's log.
    """
    if _ACTIVE:
        yield _ACTIVE[-1]
        return
    sys.stdout.flush()
    sys.stderr.flush()
    temporary = path is None
    if temporary:
        fd, path = tempfile.mkstemp(prefix="keras-shufflenet-", suffix=".log")
        os.close(fd)
    else:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    saved = os.dup(1), os.dup(2)
    streams = sys.stdout, sys.stderr
    sys.stdout = os.fdopen(os.dup(saved[0]), "w", buffering=1)
    sys.stderr = os.fdopen(os.dup(saved[1]), "w", buffering=1)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    tf_logger = logging.getLogger("tensorflow")
    tf_level = tf_logger.level
    tf_logger.setLevel(logging.WARNING)
    failed = False
    _ACTIVE.append(path)
    try:
        yield path
    except SystemExit as exit_:  # absl's app.run ends with sys.exit
        failed = exit_.code not in (0, None)
        raise
    except BaseException:
        failed = True
        raise
    finally:
        _ACTIVE.pop()
        tf_logger.setLevel(tf_level)
        for stream in (sys.stdout, sys.stderr, *streams):
            stream.flush()
        terminal_out, terminal_err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = streams
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        terminal_out.close()
        terminal_err.close()
        if temporary and not failed:
            os.remove(path)
        elif temporary:
            print(f"framework messages of this run: {path}", file=sys.stderr)

"""Benchmark on an Android device with the official `benchmark_model` binary, over adb.

    python -m keras_shufflenet.tflite.benchmark a.tflite b.tflite \\
        --adb=path/to/android_aarch64_benchmark_model --threads=1,4 --profile

pushes the binary (built for the device's ABI; the user supplies it) and the
models to `--adb_dir` (default /data/local/tmp/keras_shufflenet), runs

    adb [-s SERIAL] shell [taskset MASK] DIR/benchmark_model --graph=DIR/a.tflite
        --num_threads=N --warmup_runs=W --warmup_min_secs=0 --num_runs=R --min_secs=0
        --use_xnnpack=true|false [--enable_op_profiling=true]
        [--external_delegate_path=DIR/libdelegate.so]

once per model and setting (with `--duration=S`: `--num_runs=1 --min_secs=S`),
and parses its log into the same `Result`s, table, JSON, CSV, plot and op
profiles as the local tool. Models are run one process after another in
round-robin order per setting, not interleaved run by run. `benchmark_model`
reports mean, std, min, max (and p5/median/p95 in newer builds), not p90/p99:
those stay empty, and ratios use the median where printed, else the mean.

Needs only the standard library (and `adb` on PATH, or `--adb_path`).
"""

import dataclasses
import os
import re
import shlex
import subprocess

try:
    from . import op_profile, runtime
    from .benchmark_results import model_names, new_result, one_line
except ImportError:  # run as a copied file next to its siblings
    import op_profile
    import runtime
    from benchmark_results import model_names, new_result, one_line

DEFAULT_DEVICE_DIR = "/data/local/tmp/keras_shufflenet"


@dataclasses.dataclass(frozen=True)
class AdbConfig:
    """Where and how to run on the device.

    Args:
        binary: local path of `benchmark_model` built for the device.
        serial: device serial for `adb -s` (None: the only device attached).
        device_dir: folder on the device for the binary and models.
        adb: the adb executable.
        taskset: CPU affinity mask for `taskset` on the device (e.g. "f0" for the
            big cores of many phones), or None.
        timeout: seconds one adb command may take.
    """

    binary: str
    serial: str | None = None
    device_dir: str = DEFAULT_DEVICE_DIR
    adb: str = "adb"
    taskset: str | None = None
    timeout: float = 600.0

    def __post_init__(self):
        if not os.path.isfile(self.binary):
            raise ValueError(f"--adb: {self.binary}: no such file (give the path of benchmark_model)")
        if not self.device_dir.startswith("/"):
            raise ValueError(f"--adb_dir must be an absolute device path; got {self.device_dir!r}")
        if self.taskset is not None and not re.fullmatch(r"[0-9a-fA-F]+", self.taskset):
            raise ValueError(f"--adb_taskset must be a hex CPU mask like f0; got {self.taskset!r}")


def adb_base(config):
    return [config.adb] + (["-s", config.serial] if config.serial else [])


def device_path(config, local_path):
    return f"{config.device_dir}/{os.path.basename(local_path)}"


def push_command(config, local_path):
    """The adb command that copies `local_path` into the device folder."""
    return adb_base(config) + ["push", local_path, device_path(config, local_path)]


def setup_commands(config, libraries=()):
    """The adb commands that create the device folder, push the binary (made
    executable) and any delegate `libraries`."""
    base = adb_base(config)
    binary = device_path(config, config.binary)
    return (
        [base + ["shell", f"mkdir -p {shlex.quote(config.device_dir)}"], push_command(config, config.binary)]
        + [base + ["shell", f"chmod 755 {shlex.quote(binary)}"]]
        + [push_command(config, library) for library in libraries]
    )


def benchmark_flags(device_model, setting, run_config, delegate_device_path=None):
    """`benchmark_model` flags matching one `Setting` and `RunConfig`."""
    flags = [
        f"--graph={device_model}",
        f"--num_threads={setting.threads}",
        f"--warmup_runs={run_config.warmup}",
        "--warmup_min_secs=0",
    ]
    if run_config.duration is None:
        flags += [f"--num_runs={run_config.runs}", "--min_secs=0"]
    else:
        seconds = f"{run_config.duration:g}"
        flags += ["--num_runs=1", f"--min_secs={seconds}", f"--max_secs={run_config.duration + 1:g}"]
    flags.append(f"--use_xnnpack={'true' if setting.xnnpack else 'false'}")
    if run_config.profile:
        flags.append("--enable_op_profiling=true")
    if delegate_device_path:
        flags.append(f"--external_delegate_path={delegate_device_path}")
    return flags


def run_command(config, device_model, setting, run_config):
    """The full adb command that benchmarks `device_model` under `setting`."""
    delegate = device_path(config, setting.delegate) if setting.delegate else None
    words = []
    if config.taskset:
        words += ["taskset", config.taskset]
    words.append(device_path(config, config.binary))
    words += benchmark_flags(device_model, setting, run_config, delegate)
    return adb_base(config) + ["shell", " ".join(shlex.quote(w) for w in words)]


# ---------------------------------------------------------------- parsing

_NUMBER = r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_STAT = re.compile(rf"\bcount=(\d+)((?:\s+\w+={_NUMBER})*)")
_TIMINGS = re.compile(
    rf"Inference timings in us: Init: ({_NUMBER}), First inference: ({_NUMBER}), "
    rf"Warmup \(avg\): ({_NUMBER}), Inference \(avg\): ({_NUMBER})"
)
_SIZE = re.compile(rf"The input model file size \(MB\): ({_NUMBER})")
_MEMORY = re.compile(rf"(?:Memory footprint delta from the start of the tool|Peak memory footprint) "
                     rf"\(MB\): init=({_NUMBER}) overall=({_NUMBER})")
_PEAK = re.compile(rf"Overall peak memory footprint \(MB\) via periodic monitoring: ({_NUMBER})")
_PARTITIONS = re.compile(r"Replacing (\d+) out of (\d+) node\(s\) with delegate \((\w+)\) node, "
                         r"yielding (\d+) partitions")
_ERROR = re.compile(r"\bERROR\b|Benchmarking failed|Failed to|not found|No such file|Permission denied")
_NAME = re.compile(r"^\[(.*)\](?::(\d+))?$")


@dataclasses.dataclass
class DeviceRun:
    """What one `benchmark_model` run printed, in ms / MB."""

    init_ms: float
    first_ms: float
    warmup_avg_ms: float
    mean_ms: float
    count: int
    std_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    median_ms: float | None = None
    p5_ms: float | None = None
    p95_ms: float | None = None
    size_mb: float | None = None
    memory_init_mb: float | None = None
    memory_overall_mb: float | None = None
    peak_memory_mb: float | None = None
    partitions: int | None = None
    profile: object = None


def _error_line(text):
    for line in text.splitlines():
        if _ERROR.search(line):
            return line.strip()
    return None


def _stat_fields(line):
    match = _STAT.search(line)
    if not match:
        return None
    fields = {"count": float(match.group(1))}
    for key, value in re.findall(rf"(\w+)=({_NUMBER})", match.group(2)):
        fields[key] = float(value)
    if "avg" not in fields and "curr" in fields:  # "count=N curr=X(all same)"
        fields.update(avg=fields["curr"], min=fields["curr"], max=fields["curr"], std=0.0)
    return fields


def _parse_table(lines, start):
    """Rows of the tab-separated table whose header (bracketed names) is at `start`."""
    header = [c.strip()[1:-1].lower() for c in lines[start].split("\t") if re.fullmatch(r"\s*\[.*\]\s*", c)]
    rows = []
    for line in lines[start + 1:]:
        cells = [c.strip() for c in line.split("\t")]
        if not line.strip() or len(cells) < len(header):
            break
        rows.append(dict(zip(header, cells[-len(header):])))
    return rows


def _number(text):
    return float(text.rstrip("%"))


def parse_op_profile(text):
    """An `OpProfile` from `benchmark_model --enable_op_profiling=true` output, or None.

    Uses the "Run Order" and "Summary by node type" tables of the regular runs
    (not of the initialization, which some builds print first).
    """
    lines = [line.rstrip("\r\n") for line in text.splitlines()]
    begin = 0
    for i, line in enumerate(lines):
        if "Profiling Info for Regular Benchmark Runs" in line:
            begin = i
    order = summary = None
    for i in range(begin, len(lines)):
        if "Run Order" in lines[i] and order is None and i + 1 < len(lines):
            order = _parse_table(lines, i + 1)
        if "Summary by node type" in lines[i] and summary is None and i + 1 < len(lines):
            summary = _parse_table(lines, i + 1)
    if not order:
        return None
    ops = []
    for position, row in enumerate(order):
        match = _NAME.match(row.get("name", ""))
        name = match.group(1) if match else row.get("name", "")
        index = int(match.group(2)) if match and match.group(2) else position
        ops.append(op_profile.OpTiming(index, row["node type"], name, _number(row["avg ms"])))
    profile = op_profile.summarize("benchmark_model --enable_op_profiling", ops)
    if summary:  # the tool's own per-type totals (it sums over all runs of a node)
        total = sum(_number(row["avg ms"]) for row in summary)
        profile.by_type = [
            op_profile.OpTypeTiming(
                op_type=row["node type"], count=int(_number(row["count"])), ms=_number(row["avg ms"]),
                share=_number(row["avg ms"]) / total if total else 0.0,
            )
            for row in summary
        ]
    return profile


def parse_benchmark_output(text):
    """A `DeviceRun` from the log of one `benchmark_model` run.

    Raises a one-line ValueError naming the tool's own error when the run failed
    or the log has no timings.
    """
    timings = None
    stats = []
    run = {}
    for line in text.splitlines():
        if "Timings (microseconds)" in line or "Memory (bytes)" in line:
            continue  # the profiler's own summary lines look like stat lines
        if (m := _TIMINGS.search(line)) is not None:
            timings = [float(v) for v in m.groups()]
        elif (fields := _stat_fields(line)) is not None and timings is None:
            stats.append(fields)
        elif (m := _SIZE.search(line)) is not None:
            run["size_mb"] = float(m.group(1))
        elif (m := _MEMORY.search(line)) is not None:
            run["memory_init_mb"], run["memory_overall_mb"] = float(m.group(1)), float(m.group(2))
        elif (m := _PEAK.search(line)) is not None:
            run["peak_memory_mb"] = float(m.group(1))
        elif (m := _PARTITIONS.search(line)) is not None:
            run["partitions"] = int(m.group(4))
    if timings is None or not stats:
        reason = _error_line(text) or "no 'Inference timings' line in benchmark_model's output"
        raise ValueError(f"benchmark_model failed: {reason}")
    regular = stats[-1]  # the warmup stats come first, the timed runs' last
    ms = lambda key: regular[key] / 1000 if key in regular else None  # noqa: E731
    return DeviceRun(
        init_ms=timings[0] / 1000, first_ms=timings[1] / 1000, warmup_avg_ms=timings[2] / 1000,
        mean_ms=timings[3] / 1000, count=int(regular["count"]), std_ms=ms("std"),
        min_ms=ms("min"), max_ms=ms("max"), median_ms=ms("median"), p5_ms=ms("p5"),
        p95_ms=ms("p95"), profile=parse_op_profile(text), **run,
    )


def fill_result(result, run):
    """Copies a `DeviceRun` into a `benchmark_results.Result`."""
    result.load_ms = run.init_ms
    result.first_ms = run.first_ms
    result.mean_ms = run.mean_ms
    result.median_ms = run.median_ms
    result.std_ms = run.std_ms
    result.min_ms = run.min_ms
    result.max_ms = run.max_ms
    result.runs = run.count
    result.throughput = 1000.0 / run.mean_ms if run.mean_ms else None
    if run.size_mb is not None:
        result.size_mb = run.size_mb
    result.rss_delta_mb = run.memory_overall_mb
    result.peak_rss_mb = run.peak_memory_mb
    result.partitions = run.partitions
    if run.profile is not None:
        run.profile.model_ms = result.latency_ms
        run.profile.partitions = run.partitions
        result.profile = run.profile
    return result


def _run(command, timeout):
    """Runs an adb command; (exit status, stdout + stderr)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        return 127, f"ERROR: {command[0]}: not found; install Android platform-tools or pass --adb_path"
    except subprocess.TimeoutExpired:
        return 124, f"ERROR: timed out after {timeout:g} s: {' '.join(command[:4])} ..."
    return done.returncode, (done.stdout or "") + (done.stderr or "")


def benchmark_on_device(paths, settings, run_config, config, names=None, runner=None, progress=None):
    """Like `benchmark.benchmark_models`, on an Android device through adb.

    `runner(command) -> (exit status, output)` runs one adb command (default:
    subprocess, with `config.timeout`); tests pass a fake one.
    """
    runner = runner or (lambda command: _run(command, config.timeout))
    progress = progress or (lambda line: print(line, flush=True))
    paths = [os.fspath(p) for p in paths]
    names = list(names) if names is not None else model_names(paths)
    local_errors = {}
    for path in paths:
        try:
            runtime.check_tflite_file(path)
        except (OSError, ValueError) as error:
            local_errors[path] = one_line(error)
    libraries = sorted({s.delegate for s in settings if s.delegate})
    setup_error = None
    for command in setup_commands(config, libraries):
        status, output = runner(command)
        if status != 0:
            setup_error = f"adb setup failed: {_error_line(output) or output.strip()[:200]}"
            break
    for path in paths:
        if path in local_errors or setup_error:
            continue
        status, output = runner(push_command(config, path))
        if status != 0:
            local_errors[path] = f"adb push failed: {_error_line(output) or output.strip()[:200]}"
    results = []
    for setting in settings:
        for name, path in zip(names, paths):
            result = new_result(name, path, setting)
            result.tool = "benchmark_model (adb)"
            results.append(result)
            if setup_error or path in local_errors:
                result.error = setup_error or local_errors[path]
                continue
            progress(f"{setting.label}: {name} on the device")
            status, output = runner(run_command(config, device_path(config, path), setting, run_config))
            try:
                fill_result(result, parse_benchmark_output(output))
            except ValueError as error:
                result.error = one_line(error)
            else:
                if status != 0:
                    result.error = f"benchmark_model exited with status {status}"
    return results

"""Benchmark `.tflite` models where the app runs, with only numpy and LiteRT.

    python -m keras_shufflenet.tflite.benchmark a.tflite b.tflite --threads=1,2 \\
        --warmup=5 --runs=50 --baseline=a --json=out.json --csv=out.csv --plot=out.png

Per model and setting (thread count x XNNPACK on/off x external delegate) it
reports the load time (read, build, delegate, allocate), the first inference,
the steady-state median, mean, p90, p99 and standard deviation, throughput
(inferences per second, from the mean), file size, the resident-memory growth
while the model loaded and ran its first inference, and the process's peak RSS.

Models are measured interleaved: each timed round runs every model once (the
starting model rotates between rounds), so a load spike or a CPU frequency
change hits all models alike and the ratios against `--baseline` stay fair.
Settings are measured one after another; ratios compare models within one
setting.

Options (lists are comma-separated):
    --threads=1,2          thread counts
    --warmup=5             untimed rounds before timing
    --runs=50              timed rounds, or --duration=SECONDS per setting instead
    --xnnpack=on|off|on,off  XNNPACK delegate (LiteRT's default) or built-in kernels
    --delegate=LIB[,LIB]   also measure with an external delegate library
    --input=random|DIR     random data of each input's dtype, or a folder of images
                           (.png/.jpg/.bmp via Pillow, or .npy arrays): pixels in
                           [0, 255], resized, centre-cropped and normalized as the
                           input contract in the model file says (exactly the
                           model's input size for files without one), quantized
                           for integer inputs
    --baseline=NAME        model the ratios are relative to (name = file stem)
    --accuracy=NAME=VALUE,... or a JSON file {name: value | {"top1": value}}
    --json=F --csv=F --plot=F.png   reports (the plot needs matplotlib)
    --profile              per-op-type and per-op time, share and delegation
    --adb=PATH/benchmark_model   run on an Android device through adb instead
                           (see adb.py); --adb_serial, --adb_dir, --adb_taskset

A model that cannot be measured (missing, not TFLite, truncated, input of the
wrong shape, delegate that does not load) gets a one-line error; the others are
still measured, and the exit status is 1.

Without installing the package (e.g. on a Raspberry Pi with only
`pip install numpy ai-edge-litert`, or `tflite-runtime`), copy the
`STANDALONE_FILES` (`benchmark.py`, `benchmark_results.py`,
`benchmark_report.py`, `op_profile.py`, `adb.py`, `graph.py`, `input_contract.py`,
`runtime.py`) from the
repository's `tflite/device/` folder into one folder and run
`python3 benchmark.py model.tflite ...`.
"""

import argparse
import dataclasses
import json
import os
import platform
import sys
import time

import numpy as np

try:
    from . import benchmark_report, input_contract, op_profile, runtime
    from .benchmark_results import (
        Result, RunConfig, Setting, add_ratios, fill_stats, model_names, new_result, one_line,
    )
except ImportError:  # run as a copied file next to its siblings
    import benchmark_report
    import input_contract
    import op_profile
    import runtime
    from benchmark_results import (
        Result, RunConfig, Setting, add_ratios, fill_stats, model_names, new_result, one_line,
    )

__all__ = [
    "Result", "RunConfig", "Setting", "add_ratios", "benchmark_models", "describe_environment",
    "environment", "fill_stats", "main",
    "model_names", "parse_accuracy", "parse_settings",
]

# The files to copy to a device that runs the tool without installing the package.
STANDALONE_FILES = (
    "benchmark.py", "benchmark_results.py", "benchmark_report.py", "op_profile.py", "adb.py", "graph.py",
    "input_contract.py", "runtime.py",
)
# The instruction sets int8 and float32 kernels speed up with (x86: AVX2, AVX-512, VNNI
# int8 dot products; ARM: NEON dot products, int8 matrix multiply).
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "asimddp", "i8mm")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
INPUT_SUFFIXES = IMAGE_SUFFIXES + (".npy",)


def parse_settings(threads="1", xnnpack="on", delegate=None):
    """The `Setting`s for comma-separated thread counts, XNNPACK on/off values and
    delegate libraries ("none" or empty: no external delegate)."""
    counts = []
    for item in str(threads).split(","):
        item = item.strip()
        if not item.isdigit() or int(item) < 1:
            raise ValueError(f"--threads: {item!r} is not a positive integer (e.g. --threads=1,2,4)")
        counts.append(int(item))
    flags = []
    for item in str(xnnpack).split(","):
        item = item.strip().lower()
        if item not in ("on", "off", "true", "false", "1", "0"):
            raise ValueError(f"--xnnpack: {item!r} is not one of on, off (e.g. --xnnpack=on,off)")
        flags.append(item in ("on", "true", "1"))
    libraries = [None]
    if delegate:
        libraries = [d.strip() or None for d in str(delegate).split(",")]
        libraries = [None if d in (None, "none") else d for d in libraries]
    settings = [Setting(t, x, d) for d in libraries for x in flags for t in counts]
    return list(dict.fromkeys(settings))


def parse_accuracy(text, names):
    """Accuracies by model name from 'NAME=VALUE,...' or a JSON file path holding
    {name: value} or {name: {"top1": value}}. Names must be among `names`."""
    if os.path.isfile(text):
        with open(text, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError(f"--accuracy: {text} must hold a JSON object {{model name: accuracy}}")
        pairs = {k: (v.get("top1") if isinstance(v, dict) else v) for k, v in data.items()}
    else:
        pairs = {}
        for item in text.split(","):
            if "=" not in item:
                raise ValueError(f"--accuracy: {item!r} is not NAME=VALUE (e.g. --accuracy=a=0.69,b=0.71)")
            key, value = item.split("=", 1)
            pairs[key.strip()] = value.strip()
    out = {}
    for key, value in pairs.items():
        if key not in names:
            raise ValueError(f"--accuracy: {key!r} is not one of the models ({', '.join(names)})")
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"--accuracy: {key}={value!r} is not a number") from None
    return out


def current_rss_mb():
    """Resident memory of this process now, in MiB (None where /proc is absent)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, AttributeError):
        return None


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB (None where unknown)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def list_input_files(directory):
    """Sorted image / .npy files in `directory`; a ValueError when there are none."""
    files = sorted(
        os.path.join(directory, f) for f in os.listdir(directory)
        if f.lower().endswith(INPUT_SUFFIXES)
    )
    if not files:
        raise ValueError(
            f"--input: {directory} holds no {', '.join(INPUT_SUFFIXES)} files"
        )
    return files


def read_input_file(path, contract=None):
    """A float32 [H, W, C] array of pixels from an image (via Pillow) or a .npy file.

    With `contract` (the model's `InputContract`), an image of any size is resized
    and centre-cropped as the contract says, and the pixels of either kind are
    normalized by its mean and std.
    """
    if path.lower().endswith(".npy"):
        array = np.load(path)
        if array.ndim == 4 and array.shape[0] == 1:
            array = array[0]
        array = array.astype(np.float32)
    else:
        try:
            from PIL import Image
        except ImportError:
            raise ValueError(
                f"{path}: reading images needs Pillow (pip install pillow); or give .npy arrays"
            ) from None
        with Image.open(path) as image:
            if contract is not None:
                image = resize_and_crop(image.convert("RGB"), contract)
            array = np.asarray(image, dtype=np.float32)
        array = array[..., None] if array.ndim == 2 else array
    if contract is not None and contract.normalizes:
        array = (array - np.float32(contract.mean)) / np.float32(contract.std)
    return array


def resize_and_crop(image, contract):
    """A Pillow image resized (shorter side to `contract.resize_size`, bilinear, antialiased
    as Pillow always is) and centre-cropped to the contract's square size."""
    from PIL import Image

    height, width, top, left = contract.resize_and_crop_box(image.height, image.width)
    size = contract.image_size
    return image.resize((width, height), Image.BILINEAR).crop((left, top, left + size, top + size))


def make_inputs(interpreter, path, config, rng, cache):
    """Input sets for a model: a list of [one array per input tensor].

    Random data of each input's dtype and shape (floats as pixels in [0, 255]),
    or every file of `config.input`, prepared by the input contract the model
    file records (resize, centre crop, normalization); without one, the files
    must match the model's input exactly and are fed as pixels.
    """
    details = interpreter.get_input_details()
    if config.input == "random":
        return [[op_profile.random_value(d, rng, float_range=(0.0, 255.0)) for d in details]]
    if len(details) != 1:
        raise ValueError(f"{path}: --input=DIR needs a single-input model; this one has {len(details)}")
    (detail,) = details
    expected = tuple(int(d) for d in detail["shape"][1:])
    contract = input_contract.read(path)
    sets = []
    for file in list_input_files(config.input):
        if (file, contract) not in cache:
            cache[file, contract] = read_input_file(file, contract)
        array = cache[file, contract]
        if tuple(array.shape) != expected:
            raise ValueError(
                f"{file}: input is {'x'.join(map(str, array.shape))} but {os.path.basename(path)} "
                f"expects {'x'.join(map(str, expected))} (resize/crop the images to the model's input)"
            )
        sets.append([runtime.quantize(array[None], detail, path)])
    return sets


class _Runner:
    """One loaded model under one setting, ready to be invoked round after round."""

    def __init__(self, result, delegates, config, rng, cache):
        self.result = result
        rss_before = current_rss_mb()
        start = time.perf_counter()
        self.interpreter = runtime.make_interpreter(
            result.path, result.threads, result.xnnpack, delegates
        )
        result.load_ms = (time.perf_counter() - start) * 1000
        result.partitions = op_profile.count_partitions(self.interpreter)
        self.details = self.interpreter.get_input_details()
        self.inputs = make_inputs(self.interpreter, result.path, config, rng, cache)
        self.count = 0
        result.first_ms = self.invoke() / 1e6
        rss_after = current_rss_mb()
        if rss_before is not None and rss_after is not None:
            result.rss_delta_mb = max(rss_after - rss_before, 0.0)
        self.latencies_ms = []

    def invoke(self):
        """Sets the next input set (untimed), runs once; returns nanoseconds."""
        values = self.inputs[self.count % len(self.inputs)]
        self.count += 1
        if len(self.inputs) > 1 or self.count == 1:
            for detail, value in zip(self.details, values):
                self.interpreter.set_tensor(detail["index"], value)
        start = time.perf_counter_ns()
        self.interpreter.invoke()
        return time.perf_counter_ns() - start


def _naming(path, error):
    """The one-line error of a model, starting with its file's path."""
    message = one_line(error)
    return message if str(path) in message else f"{path}: {message}"


def _measure_setting(paths, names, setting, config, progress):
    results = [new_result(n, p, setting) for n, p in zip(names, paths)]
    delegates = []
    if setting.delegate:
        try:
            delegates = [runtime.load_delegate(setting.delegate)]
        except ValueError as error:
            for r in results:
                r.error = one_line(error)
            return results
    rng = np.random.default_rng(config.seed)
    cache = {}
    runners = []
    for r in results:
        try:
            runners.append(_Runner(r, delegates, config, rng, cache))
        except Exception as error:  # one bad model must not stop the others
            r.error = _naming(r.path, error)
    progress(f"{setting.label}: loaded {len(runners)}/{len(results)} model(s), warming up")

    def round_robin(step, timed):
        for k in range(len(runners)):
            runner = runners[(step + k) % len(runners)]
            if runner.result.error:
                continue
            try:
                ns = runner.invoke()
            except Exception as error:
                runner.result.error = _naming(runner.result.path, error)
                continue
            if timed:
                runner.latencies_ms.append(ns / 1e6)

    for step in range(config.warmup):
        round_robin(step, timed=False)
    start = time.perf_counter()
    last_report = start
    step = 0
    while True:
        elapsed = time.perf_counter() - start
        if config.duration is None and step >= config.runs:
            break
        if config.duration is not None and elapsed >= config.duration and step > 0:
            break
        round_robin(step, timed=True)
        step += 1
        if time.perf_counter() - last_report > 5:
            last_report = time.perf_counter()
            total = f"/{config.runs}" if config.duration is None else f" ({elapsed:.0f}/{config.duration:g} s)"
            progress(f"{setting.label}: round {step}{total}")
    for runner in runners:
        if runner.result.error is None:
            fill_stats(runner.result, runner.latencies_ms)
    peak = peak_rss_mb()
    for runner in runners:
        runner.result.peak_rss_mb = peak
    runners.clear()  # release the interpreters before profiling
    if config.profile:
        for r in results:
            if r.error is not None:
                continue
            progress(f"{setting.label}: profiling {r.name} op by op")
            try:
                r.profile = op_profile.profile_model(
                    r.path, threads=setting.threads, use_xnnpack=setting.xnnpack,
                    delegates=delegates, runs=config.profile_runs, seed=config.seed,
                    model_ms=r.median_ms, partitions=r.partitions,
                )
            except Exception as error:
                r.profile = None
                progress(f"{r.name}: profile failed: {one_line(error)}")
    return results


def benchmark_models(paths, settings=None, config=None, names=None, progress=None):
    """Measures every model in `paths` under every `Setting`, models interleaved.

    Args:
        paths: `.tflite` files.
        settings: `Setting`s, measured one after another (default: 1 thread, XNNPACK).
        config: a `RunConfig` (warmup, runs or duration, input, profile; default
            `RunConfig()`).
        names: display names (default: `model_names(paths)`).
        progress: callable(str) for progress lines (default: print to stderr).

    Returns:
        A list of `Result`, settings outer, models inner. A model that fails has
        `error` set and no numbers; the others are measured all the same.
    """
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("no models given")
    names = list(names) if names is not None else model_names(paths)
    if len(names) != len(paths):
        raise ValueError(f"{len(names)} names for {len(paths)} models")
    settings = list(settings) if settings is not None else [Setting()]
    config = config if config is not None else RunConfig()
    progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    results = []
    for setting in settings:
        results.extend(_measure_setting(paths, names, setting, config, progress))
    return results


def environment():
    """Where the numbers come from: machine, CPU and its ISA flags (`ISA_FLAGS`
    present), Python, runtime package and version."""
    info = {
        "machine": platform.machine(),
        "system": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    for package in ("ai-edge-litert", "tflite-runtime"):
        try:
            from importlib import metadata

            info["runtime"] = f"{package} {metadata.version(package)}"
            break
        except Exception:
            continue
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware") and "cpu" not in info:
                    info["cpu"] = value.strip()
                elif key.strip() in ("flags", "Features") and "isa" not in info:
                    present = set(value.split())
                    info["isa"] = " ".join(f for f in ISA_FLAGS if f in present) or "none of " + "/".join(ISA_FLAGS)
    except OSError:
        pass
    return info


def describe_environment(env=None):
    """One line: the CPU, its ISA flags, cores and the runtime the numbers come from."""
    env = env or environment()
    return (
        f"{env.get('cpu', env['machine'])} ({env.get('isa', 'ISA flags unknown')}), "
        f"{env['cpu_count']} cores, {env.get('runtime', 'runtime unknown')}, Python {env['python']}"
    )


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m keras_shufflenet.tflite.benchmark",
        description="Latency, memory and per-op profile of .tflite models (numpy + LiteRT only).",
    )
    parser.add_argument("models", nargs="+", help=".tflite files")
    parser.add_argument("--threads", default="1", help="comma-separated thread counts (default 1)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed rounds (default 5)")
    runs = parser.add_mutually_exclusive_group()
    runs.add_argument("--runs", type=int, default=50, help="timed rounds (default 50)")
    runs.add_argument("--duration", type=float, help="seconds of timed rounds per setting")
    parser.add_argument("--xnnpack", default="on", help="on, off or on,off (default on)")
    parser.add_argument("--delegate", default=None, help="external delegate libraries, comma-separated")
    parser.add_argument("--input", default="random", help="random, or a folder of images/.npy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", help="model name the ratios are relative to")
    parser.add_argument("--accuracy", help="NAME=VALUE,... or a JSON file of accuracies")
    parser.add_argument("--json", help="write results as JSON")
    parser.add_argument("--csv", help="write results as CSV")
    parser.add_argument("--plot", help="write a PNG plot")
    parser.add_argument("--profile", action="store_true", help="per-operator profile")
    parser.add_argument("--profile_runs", type=int, default=20, help="timed runs per op (default 20)")
    parser.add_argument("--profile_top", type=int, default=15, help="ops listed per profile (default 15)")
    parser.add_argument("--adb", metavar="BENCHMARK_MODEL",
                        help="run on an Android device: path of the official benchmark_model binary")
    parser.add_argument("--adb_serial", help="device serial (adb -s)")
    parser.add_argument("--adb_dir", default=None, help="folder on the device")
    parser.add_argument("--adb_taskset", help="CPU affinity mask on the device, e.g. f0")
    parser.add_argument("--adb_path", default="adb", help="the adb executable (default adb)")
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        names = model_names(args.models)
        settings = parse_settings(args.threads, args.xnnpack, args.delegate)
        config = RunConfig(
            warmup=args.warmup, runs=args.runs, duration=args.duration, input=args.input,
            seed=args.seed, profile=args.profile, profile_runs=args.profile_runs,
        )
        if config.input != "random":
            list_input_files(config.input)
        if args.baseline is not None and args.baseline not in names:
            raise ValueError(f"--baseline: {args.baseline!r} is not one of the models ({', '.join(names)})")
        accuracy = parse_accuracy(args.accuracy, names) if args.accuracy else {}
        adb_config = None
        if args.adb:
            try:
                from . import adb
            except ImportError:
                import adb
            if config.input != "random":
                raise ValueError("--input=DIR is not supported with --adb (benchmark_model feeds random data)")
            adb_config = adb.AdbConfig(
                binary=args.adb, serial=args.adb_serial, taskset=args.adb_taskset,
                adb=args.adb_path, **({"device_dir": args.adb_dir} if args.adb_dir else {}),
            )
    except ValueError as error:
        parser.error(str(error))

    if adb_config is not None:
        results = adb.benchmark_on_device(args.models, settings, config, adb_config, names=names)
    else:
        results = benchmark_models(args.models, settings, config, names=names)
    baseline = args.baseline or names[0]
    add_ratios(results, baseline)
    for r in results:
        r.accuracy = accuracy.get(r.name)

    env = environment() if adb_config is None else None
    if env:
        print(describe_environment(env))
    print(benchmark_report.format_table(results, baseline))
    for r in results:
        if r.profile is not None:
            print()
            print(benchmark_report.format_profile(r.name, r.setting.label, r.profile, args.profile_top))
    meta = {
        "environment": env or {"device": "adb", "serial": args.adb_serial},
        "config": dataclasses.asdict(config),
        "settings": [dataclasses.asdict(s) for s in settings],
        "baseline": baseline,
        "interleaved": adb_config is None,
    }
    if args.json:
        benchmark_report.write_json(results, args.json, meta)
    if args.csv:
        benchmark_report.write_csv(results, args.csv)
    if args.plot:
        note = benchmark_report.write_plot(results, args.plot)
        if note:
            print(note, file=sys.stderr)
    failed = [r for r in results if r.error]
    for r in failed:
        print(f"error: {r.name} ({r.setting.label}): {r.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

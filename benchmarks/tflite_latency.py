"""TFLite CPU latency of ShuffleNet against the models a user would pick instead.

    python benchmarks/tflite_latency.py                      # everything, ~15 min on 2 cores
    python benchmarks/tflite_latency.py --models=shufflenet_v2_1.0,mobilenet_v2_1.0 --runs=30
    python benchmarks/tflite_latency.py --reuse              # re-measure the .tflite files already built

Builds, at 224x224 with random weights (latency does not depend on the
weights): ShuffleNet V2 0.5x/1.0x/1.5x, ShuffleNet V1 1.0x g3 and g8, and
keras.applications MobileNetV2 1.0 and 0.5, MobileNetV3Small and
MobileNetV3Large; converts each to float32 and full-int8 (float I/O) with
`keras_shufflenet.tflite.export.export_tflite`; and measures all of them in
one interleaved run of the benchmark tool (`keras_shufflenet.tflite.benchmark`)
on 1 and 2 threads with XNNPACK. ShuffleNet V2 is exported through the exact
rewrite (`optimize_graph=True`, the default: no shuffle transposes, the
normalization's scale folded into conv1) and, as `<name>_plain`, layer by
layer (`optimize_graph=False`), measured side by side in the same rounds. The
peer comparison uses the bare networks (no normalization inside any of them);
`shufflenet_v2_<width>_pre` are the shipped forms with
`include_preprocessing=True`: float32 taking raw [0, 255] pixels, and int8
taking uint8 camera pixels (`io_dtype="uint8"`, the Android form).

It prints the latency table, the ratios behind the speed targets, the fraction
of the CPU's peak FLOP/s each float32 model reaches, the per-op profiles
(float32 vs int8) of ShuffleNet V2 1.0x, V1 1.0x g3 and MobileNetV2 1.0, and
what the channel shuffles and explicit pads cost inside the whole ShuffleNet V2
graph, measured by ablation: copies of the graph without them (same shapes and
MACs, different numbers) run in the same interleaved rounds. Peak FLOP/s is
derived from /proc/cpuinfo (cores x GHz x 2 FMA units x 8 float32 lanes x 2
FLOPs per FMA, for AVX2+FMA CPUs) and measured two ways: a 2048^3 float32
numpy matmul on one thread, and a large 1x1 convolution through XNNPACK.

Everything lands in --output_dir: the .tflite files, results.json, results.csv,
latency.png, and summary.md (the tables for the README).
"""

import dataclasses
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("output_dir", "artifacts/tflite_latency", "where models and reports go")
flags.DEFINE_list("models", ["all"], "model names (see MODELS) or 'all'")
flags.DEFINE_list("threads", ["1", "2"], "thread counts")
flags.DEFINE_integer("runs", 60, "timed rounds (every model once per round)")
flags.DEFINE_integer("warmup", 5, "untimed rounds")
flags.DEFINE_integer("calibration_images", 16, "random images to calibrate int8 on (latency only)")
flags.DEFINE_bool("reuse", False, "reuse .tflite files already in --output_dir")
flags.DEFINE_bool("profile", True, "per-op profiles of ShuffleNet V2 1.0x, V1 1.0x g3 and MobileNetV2 1.0")
flags.DEFINE_integer("image_size", 224, "input height and width")
flags.DEFINE_bool("ablations", True, "also measure ShuffleNet V2 1.0x without shuffles / explicit pads")

BASELINE = "mobilenet_v2_1.0"
SUBJECT = "shufflenet_v2_1.0"
PROFILED = (SUBJECT, f"{SUBJECT}_plain", "shufflenet_v1_1.0_g3", BASELINE)


@dataclasses.dataclass(frozen=True)
class Entry:
    """A model to build: `build(size)` -> keras.Model; `scale` maps [0, 255] pixels to
    what the model takes ("raw", "imagenet" mean/std, or "tf" = [-1, 1])."""

    name: str
    build: object
    scale: str
    plain: bool = False  # also export layer by layer (optimize_graph=False) as <name>_plain


def _shufflenet(version, width, groups=None, preprocessing=False):
    def build(size):
        import keras_shufflenet

        kwargs = dict(input_shape=(size, size, 3), weights=None, include_preprocessing=preprocessing)
        if version == 1:
            return keras_shufflenet.ShuffleNetV1(width, groups=groups, **kwargs)
        return keras_shufflenet.ShuffleNetV2(width, **kwargs)

    return build


def _application(name, **kwargs):
    def build(size):
        import keras

        return getattr(keras.applications, name)(input_shape=(size, size, 3), weights=None, **kwargs)

    return build


MODELS = (
    Entry("shufflenet_v2_0.5", _shufflenet(2, 0.5), "imagenet", plain=True),
    Entry("shufflenet_v2_1.0", _shufflenet(2, 1.0), "imagenet", plain=True),
    Entry("shufflenet_v2_1.5", _shufflenet(2, 1.5), "imagenet", plain=True),
    Entry("shufflenet_v1_1.0_g3", _shufflenet(1, 1.0, groups=3), "imagenet"),
    Entry("shufflenet_v1_1.0_g8", _shufflenet(1, 1.0, groups=8), "imagenet"),
    Entry("mobilenet_v2_1.0", _application("MobileNetV2", alpha=1.0), "tf"),
    Entry("mobilenet_v2_0.5", _application("MobileNetV2", alpha=0.5), "tf"),
    Entry("mobilenet_v3_small", _application("MobileNetV3Small", include_preprocessing=False), "tf"),
    Entry("mobilenet_v3_large", _application("MobileNetV3Large", include_preprocessing=False), "tf"),
    Entry("shufflenet_v2_0.5_pre", _shufflenet(2, 0.5, preprocessing=True), "raw"),
    Entry("shufflenet_v2_1.0_pre", _shufflenet(2, 1.0, preprocessing=True), "raw"),
    Entry("shufflenet_v2_1.5_pre", _shufflenet(2, 1.5, preprocessing=True), "raw"),
)
V2_WIDTHS = ("0.5", "1.0", "1.5")


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def calibration_images(scale, count, size):
    import numpy as np

    from keras_shufflenet import preprocessing

    pixels = np.random.default_rng(0).uniform(0, 255, (count, size, size, 3)).astype("float32")
    if scale == "imagenet":
        return preprocessing.preprocess_input(pixels)
    if scale == "tf":
        return pixels / 127.5 - 1.0
    return pixels


def build_and_export(entry, output_dir, size, count, reuse):
    """Exports `entry` as float32 and int8 (and layer by layer, for `entry.plain`);
    returns ({file stem: path}, MACs)."""
    import keras

    from keras_shufflenet import flops
    from keras_shufflenet.tflite.export import export_tflite

    variants = [(entry.name, True)] + ([(f"{entry.name}_plain", False)] if entry.plain else [])
    paths = {
        f"{stem}_{mode}": (os.path.join(output_dir, f"{stem}_{mode}.tflite"), mode, optimize)
        for stem, optimize in variants for mode in ("float32", "int8")
    }
    meta_path = os.path.join(output_dir, f"{entry.name}.json")
    if reuse and all(os.path.exists(p) for p, _, _ in paths.values()) and os.path.exists(meta_path):
        with open(meta_path) as f:
            return {k: p for k, (p, _, _) in paths.items()}, json.load(f)["macs"]
    start = time.perf_counter()
    model = entry.build(size)
    macs = flops.count_flops(model)
    # The shipped int8 form takes uint8 camera pixels; the bare networks float input.
    io_dtype = "uint8" if entry.scale == "raw" else "float32"
    for target, mode, optimize in paths.values():
        extra = dict(
            representative_images=calibration_images(entry.scale, count, size), num_calibration=count,
            io_dtype=io_dtype,
        ) if mode == "int8" else {}
        export_tflite(model, target, mode=mode, optimize_graph=optimize, **extra)
    from keras_shufflenet.tflite.device.benchmark_report import atomic_write

    atomic_write(meta_path, json.dumps({"macs": macs}))
    keras.backend.clear_session()
    log(f"{entry.name}: {macs / 1e6:.0f} MMACs, exported in {time.perf_counter() - start:.0f} s")
    return {k: p for k, (p, _, _) in paths.items()}, macs


# ------------------------------------------------------------------- CPU peak


def cpu_info():
    """Cores, MHz, AVX2/FMA support and model name from /proc/cpuinfo."""
    info = {"cores": os.cpu_count(), "mhz": None, "avx2_fma": False, "model": None, "isa": []}
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return info
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "cpu MHz" and info["mhz"] is None:
            info["mhz"] = float(value)
        elif key == "model name" and info["model"] is None:
            info["model"] = value
        elif key == "flags":
            names = value.split()
            info["avx2_fma"] = "avx2" in names and "fma" in names
            info["isa"] = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni") if f in names]
    return info


MATMUL_PROBE = r"""
import time, numpy as np
n = 2048
a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
a @ b
best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(5))
print(2 * n ** 3 / best / 1e9)
"""


def measured_matmul_gflops():
    """Best of 5 single-thread 2048^3 float32 matmuls (numpy's BLAS), GFLOP/s."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", MATMUL_PROBE], capture_output=True, text=True, env=env,
                          timeout=300)
    return float(done.stdout.strip()) if done.returncode == 0 else None


def gemm_probe(output_dir, size_hw=56, channels=256):
    """A float32 .tflite of one large 1x1 convolution (a GEMM XNNPACK runs near peak); (path, MACs)."""
    import keras

    from keras_shufflenet.tflite.export import export_tflite

    path = os.path.join(output_dir, "xnnpack_gemm_probe_float32.tflite")
    macs = size_hw * size_hw * channels * channels
    if not os.path.exists(path):
        inputs = keras.Input((size_hw, size_hw, channels))
        outputs = keras.layers.Conv2D(channels, 1, use_bias=False)(inputs)
        export_tflite(keras.Model(inputs, outputs), path, mode="float32")
        keras.backend.clear_session()
    return path, macs


# ------------------------------------------------------------------ ablations

ABLATIONS = {
    "no_shuffle": "channel shuffles (RESHAPE-TRANSPOSE-RESHAPE) of the layer-by-layer graph removed",
    "no_pad": "explicit PADs removed, the next conv/pool pads SAME",
    "no_conv_pad": "PADs before convolutions removed (what XNNPACK fuses into them costs nothing)",
    "no_pool_pad": "the PAD before MAX_POOL_2D removed (XNNPACK never fuses it)",
}
PAD_CONSUMERS = {"no_pad": None, "no_conv_pad": ("CONV_2D", "DEPTHWISE_CONV_2D"), "no_pool_pad": ("MAX_POOL_2D",)}


def ablation_variant(path, out_path, kind):
    """Writes a copy of the `.tflite` at `path` without one kind of op (see `ABLATIONS`).

    For measurement only: the variant has the same tensor shapes and MACs but
    different numbers, so (variant - original) latency is what those ops cost
    inside the whole graph, fusion and all, which isolated-op timing cannot show.
    Returns the number of ops removed.
    """
    from keras_shufflenet.tflite.device import graph as graph_lib

    fb = graph_lib.schema()
    model = graph_lib.read_model(path)
    graph = model.subgraphs[0]
    kinds = [graph_lib.op_name(model, op) for op in graph.operators]
    producer = {t: i for i, op in enumerate(graph.operators) for t in op.outputs}
    consumers = {}
    for i, op in enumerate(graph.operators):
        for t in op.inputs:
            consumers.setdefault(t, []).append(i)
    replace, drop = {}, set()
    for i, op in enumerate(graph.operators):
        if kind == "no_shuffle" and kinds[i] == "TRANSPOSE":
            before = producer.get(op.inputs[0])
            after = consumers.get(op.outputs[0], [])
            if before is None or kinds[before] != "RESHAPE" or len(after) != 1 or kinds[after[0]] != "RESHAPE":
                continue
            replace[graph.operators[after[0]].outputs[0]] = graph.operators[before].inputs[0]
            drop |= {before, i, after[0]}
        elif kind in PAD_CONSUMERS and kinds[i] in ("PAD", "PADV2"):
            users = consumers.get(op.outputs[0], [])
            wanted = PAD_CONSUMERS[kind]
            if wanted is not None and not all(kinds[j] in wanted for j in users):
                continue
            for j in users:
                options = graph.operators[j].builtinOptions
                if not hasattr(options, "padding"):
                    break
                options.padding = fb.Padding.SAME
            else:
                replace[op.outputs[0]] = op.inputs[0]
                drop.add(i)
    if kind not in ABLATIONS:
        raise ValueError(f"ablation must be one of {sorted(ABLATIONS)}; got {kind!r}")

    def resolve(t):
        while t in replace:
            t = replace[t]
        return t

    for op in graph.operators:
        op.inputs = [resolve(t) for t in op.inputs]
    graph.outputs = [resolve(t) for t in graph.outputs]
    graph.operators = [op for i, op in enumerate(graph.operators) if i not in drop]
    from keras_shufflenet.tflite.device.benchmark_report import atomic_write

    atomic_write(out_path, graph_lib.pack_model(model))
    return len(drop)


# --------------------------------------------------------------------- report

# (numerator, denominator, target or None): latency ratios in the same interleaved rounds.
def ratio_specs(width):
    v2, pre = f"shufflenet_v2_{width}", f"shufflenet_v2_{width}_pre"
    main = width == "1.0"
    return (
        (f"{pre}_float32", f"{BASELINE}_float32", 0.45 if main else None),
        (f"{v2}_float32", f"{BASELINE}_float32", None),
        (f"{v2}_plain_float32", f"{BASELINE}_float32", None),
        (f"{v2}_int8", f"{v2}_float32", 0.45 if main else None),
        (f"{pre}_float32", f"{v2}_float32", 1.02),
        (f"{pre}_int8", f"{v2}_int8", 1.02),
        (f"{v2}_float32", f"{v2}_plain_float32", None),
        (f"{v2}_int8", f"{v2}_plain_int8", None),
    )


def target_lines(results, threads):
    """One line per ratio of `ratio_specs`: median-latency ratio, best-run ratio,
    and the median of the per-round ratios (paired: the same round for both)."""
    import numpy as np

    lines = []
    for width in V2_WIDTHS:
        for top, bottom, target in ratio_specs(width):
            for t in threads:
                a, b = _get(results, top, t), _get(results, bottom, t)
                if not (a and b):
                    continue
                paired = np.median(np.asarray(a.latencies_ms) / np.asarray(b.latencies_ms)) if (
                    len(a.latencies_ms) == len(b.latencies_ms) > 0) else float("nan")
                verdict = "" if target is None or t != 1 else (
                    f"; target <= {target:.2f}: " + ("MET" if a.median_ms / b.median_ms <= target else "NOT MET"))
                lines.append(f"{top} / {bottom}, {t} thread(s): {a.median_ms / b.median_ms:.3f} "
                             f"(best runs {a.min_ms / b.min_ms:.3f}, per-round median {paired:.3f}){verdict}")
    return lines



def _get(results, name, threads):
    for r in results:
        if r.name == name and r.threads == threads and r.error is None:
            return r
    return None


def summary_table(entries, results, macs, threads, peak_per_core):
    """Markdown: per model, MACs, float32/int8 latency per thread count, ratios, % of peak."""
    head = ["model", "MMACs"]
    for t in threads:
        head += [f"fp32 {t}T ms", f"int8 {t}T ms", f"int8/fp32 {t}T"]
    head += [f"fp32 1T vs {BASELINE}", "fp32 1T GFLOP/s (% peak)", "fp32 1T best run GFLOP/s (% peak)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows = [(e.name, e.name) for e in entries] + [(f"{e.name}_plain", e.name) for e in entries if e.plain]
    for name, macs_of in rows:
        row = [name, f"{macs[macs_of] / 1e6:.0f}"]
        for t in threads:
            f32, q8 = _get(results, f"{name}_float32", t), _get(results, f"{name}_int8", t)
            row += [
                f"{f32.median_ms:.2f}" if f32 else "-",
                f"{q8.median_ms:.2f}" if q8 else "-",
                f"{q8.median_ms / f32.median_ms:.2f}" if f32 and q8 else "-",
            ]
        f32 = _get(results, f"{name}_float32", 1)
        base = _get(results, f"{BASELINE}_float32", 1)

        def rate(ms, model_macs=macs[macs_of]):
            gflops = 2 * model_macs / (ms / 1000) / 1e9
            return f"{gflops:.1f}" + (f" ({100 * gflops / peak_per_core:.0f}%)" if peak_per_core else "")

        row += [
            f"{f32.median_ms / base.median_ms:.2f}" if f32 and base else "-",
            rate(f32.median_ms) if f32 else "-",
            rate(f32.min_ms) if f32 else "-",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def profile_comparison(float_profile, int8_profile):
    """Markdown: per op type, float32 ms, int8 ms, int8/float32, count, int8 ops not delegated."""
    f32 = {t.op_type: t for t in float_profile.by_type}
    q8 = {t.op_type: t for t in int8_profile.by_type}
    kinds = sorted(set(f32) | set(q8), key=lambda k: -max(getattr(f32.get(k), "ms", 0), getattr(q8.get(k), "ms", 0)))
    lines = ["| op type | count | fp32 ms | fp32 share | int8 ms | int8 share | int8/fp32 | int8 delegated |",
             "|---|---|---|---|---|---|---|---|"]

    def cells(t):
        return [f"{t.ms:.3f}", f"{t.share:.1%}"] if t else ["-", "-"]

    for kind in kinds:
        a, b = f32.get(kind), q8.get(kind)
        ratio = f"{b.ms / a.ms:.2f}" if a and b and a.ms > 0 else "-"
        delegated = f"{b.delegated}/{b.count}" if b and b.delegated is not None else "-"
        row = [kind, str((a or b).count), *cells(a), *cells(b), ratio, delegated]
        lines.append("| " + " | ".join(row) + " |")
    lines.append(
        f"| **sum of ops** | | {float_profile.total_ms:.3f} | | {int8_profile.total_ms:.3f} | | "
        f"{int8_profile.total_ms / float_profile.total_ms:.2f} | |"
    )
    return "\n".join(lines)


def main(argv):
    del argv
    from absl import logging

    logging.set_verbosity(logging.WARNING)  # the exporter's per-model info lines
    from keras_shufflenet.tflite.device import benchmark, benchmark_report, op_profile

    threads = [int(t) for t in FLAGS.threads]
    wanted = [e for e in MODELS if FLAGS.models == ["all"] or e.name in FLAGS.models]
    unknown = set(FLAGS.models) - {e.name for e in MODELS} - {"all"}
    if unknown:
        raise app.UsageError(f"--models: unknown {sorted(unknown)}; known: {[e.name for e in MODELS]}")
    if BASELINE not in {e.name for e in wanted}:
        wanted.append(next(e for e in MODELS if e.name == BASELINE))
    os.makedirs(FLAGS.output_dir, exist_ok=True)

    paths, macs = [], {}
    for i, entry in enumerate(wanted):
        log(f"[{i + 1}/{len(wanted)}] building and exporting {entry.name}")
        exported, macs[entry.name] = build_and_export(
            entry, FLAGS.output_dir, FLAGS.image_size, FLAGS.calibration_images, FLAGS.reuse
        )
        paths += list(exported.values())
    probe_path, probe_macs = gemm_probe(FLAGS.output_dir)
    ablated = []
    if FLAGS.ablations and any(e.name == SUBJECT for e in wanted):
        for mode in ("float32", "int8"):
            for kind in ABLATIONS:
                # The shuffles exist only in the layer-by-layer graph; the pads in both.
                source = f"{SUBJECT}_plain" if kind == "no_shuffle" else SUBJECT
                variant = os.path.join(FLAGS.output_dir, f"{source}_{mode}_{kind}.tflite")
                ablation_variant(os.path.join(FLAGS.output_dir, f"{source}_{mode}.tflite"), variant, kind)
                ablated.append(variant)

    settings = [benchmark.Setting(t, True) for t in threads]
    config = benchmark.RunConfig(warmup=FLAGS.warmup, runs=FLAGS.runs)
    log(f"measuring {len(paths) + len(ablated) + 1} models interleaved, {FLAGS.runs} rounds per setting")
    every = benchmark.benchmark_models(paths + ablated + [probe_path], settings, config, progress=log)
    side = {os.path.abspath(p) for p in ablated + [probe_path]}
    results = [r for r in every if os.path.abspath(r.path) not in side]
    extra = [r for r in every if os.path.abspath(r.path) in side]
    benchmark.add_ratios(every, f"{BASELINE}_float32")
    probe = _get(extra, "xnnpack_gemm_probe_float32", 1)

    cpu = cpu_info()
    lanes = 16 if "avx512f" in cpu["isa"] else 8  # float32 lanes per FMA
    per_core_peak = cpu["mhz"] / 1e3 * 2 * lanes * 2 if cpu["mhz"] and cpu["avx2_fma"] else None
    matmul = measured_matmul_gflops()
    # The probe's best run: closest to what the core can do when nothing else runs.
    probe_gflops = 2 * probe_macs / (probe.min_ms / 1000) / 1e9 if probe else None

    print(benchmark_report.format_table(every, f"{BASELINE}_float32"))
    print()
    table = summary_table(wanted, results, macs, threads, per_core_peak)
    print(table)
    peak_text = (
        f"CPU: {cpu['model']}, {cpu['cores']} cores at {cpu['mhz']:.0f} MHz (/proc/cpuinfo), "
        f"ISA: {' '.join(cpu['isa']) or 'none of avx2/avx512f/avx512_vnni'}. Derived peak per core = {cpu['mhz'] / 1e3:.3f} GHz x 2 FMA units "
        f"x {lanes} float32 lanes x 2 FLOPs = {per_core_peak:.1f} GFLOP/s"
        if per_core_peak else "CPU peak: unknown (no cpu MHz or no AVX2+FMA in /proc/cpuinfo)"
    )
    measured = []
    if matmul:
        measured.append(f"numpy 2048^3 float32 matmul, 1 thread: {matmul:.1f} GFLOP/s")
    if probe_gflops:
        measured.append(f"XNNPACK 1x1 conv 56x56x256->256 float32, 1 thread, best run: {probe_gflops:.1f} GFLOP/s")
    print()
    print(peak_text)
    print("Measured: " + "; ".join(measured))

    # Medians are what the targets are about; the ratio of best runs is printed beside
    # them because on a shared machine it is the statistic least moved by other load.
    targets = target_lines(results, threads)
    subject = {t: _get(results, f"{SUBJECT}_float32", t) for t in threads}
    if subject.get(1) and per_core_peak:
        gflops = 2 * macs[SUBJECT] / (subject[1].median_ms / 1000) / 1e9
        best = 2 * macs[SUBJECT] / (subject[1].min_ms / 1000) / 1e9
        targets.append(f"{SUBJECT} float32, 1 thread: {gflops:.1f} GFLOP/s = {100 * gflops / per_core_peak:.1f}% "
                       f"of the derived peak (best run {best:.1f} GFLOP/s = {100 * best / per_core_peak:.1f}%)"
                       + (f"; XNNPACK's own GEMM reaches {probe_gflops:.1f} GFLOP/s" if probe_gflops else ""))
    for mode in ("float32", "int8"):
        for kind, what in ABLATIONS.items():
            source = f"{SUBJECT}_plain" if kind == "no_shuffle" else SUBJECT
            full = _get(results, f"{source}_{mode}", 1)
            variant = _get(extra, f"{source}_{mode}_{kind}", 1)
            if full and variant:
                saved = 1 - variant.median_ms / full.median_ms
                best = 1 - variant.min_ms / full.min_ms
                targets.append(f"in-graph cost, {source} {mode}, 1 thread: {what}: {variant.median_ms:.2f} ms "
                               f"vs {full.median_ms:.2f} ms, {saved:.0%} of the model (best runs {best:.0%})")
    print()
    print("\n".join(targets))

    profiles = {}
    if FLAGS.profile:
        for name in PROFILED:
            for mode in ("float32", "int8"):
                r = _get(results, f"{name}_{mode}", 1)
                if r is None:
                    continue
                log(f"profiling {r.name} op by op (1 thread, XNNPACK)")
                r.profile = op_profile.profile_model(r.path, threads=1, model_ms=r.median_ms,
                                                     partitions=r.partitions)
                profiles[r.name] = r.profile
                print()
                print(benchmark_report.format_profile(r.name, r.setting.label, r.profile, top=12))
    comparisons = []
    for name in PROFILED:
        if f"{name}_float32" in profiles and f"{name}_int8" in profiles:
            comparisons.append((name, profile_comparison(profiles[f"{name}_float32"], profiles[f"{name}_int8"])))
            print(f"\n{name}: per op type, float32 vs int8 (isolated ops, 1 thread, XNNPACK)")
            print(comparisons[-1][1])

    meta = {
        "environment": benchmark.environment(), "cpu": cpu, "peak_gflops_per_core": per_core_peak,
        "matmul_gflops_1thread": matmul, "xnnpack_gemm_gflops_1thread": probe_gflops,
        "macs": macs, "targets": targets, "config": dataclasses.asdict(config),
    }
    out = FLAGS.output_dir
    benchmark_report.write_json(every, os.path.join(out, "results.json"), meta)
    benchmark_report.write_csv(every, os.path.join(out, "results.csv"))
    note = benchmark_report.write_plot(results, os.path.join(out, "latency.png"),
                                       title="TFLite CPU latency, 224x224, XNNPACK")
    if note:
        log(note)
    summary = [f"## TFLite CPU latency ({time.strftime('%Y-%m-%d')})", "", table, "", peak_text + ".",
               "Measured: " + "; ".join(measured) + ".", "", *[f"- {t}" for t in targets]]
    for name, comparison in comparisons:
        summary += ["", f"### {name}: per op type, float32 vs int8", "", comparison]
    benchmark_report.atomic_write(os.path.join(out, "summary.md"), "\n".join(summary) + "\n")
    log(f"wrote {out}/results.json, results.csv, latency.png, summary.md")


if __name__ == "__main__":
    app.run(main)

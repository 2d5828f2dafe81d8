"""Hostile files: a seeded mutation campaign against every reader of outside files, on
files of the size users have, printing per reader the inputs tried, the outcomes by
error type, the slowest input and the peak resident memory of the worker.

    python benchmarks/robustness.py                      # every reader, default counts
    python benchmarks/robustness.py --readers=pth_zip,pth_legacy --count=2000 --seed=3

Seeds (made here, nothing downloaded): a torchvision ShuffleNetV2 0.5x state dict from
`torch.save` in both layouts (5.5 MB; needs torch, else the test suite's small one),
its `.weights.h5` (ShuffleNetV2 0.5x), a ShuffleNetV2 0.5x `.keras`, a float32
ShuffleNetV2 0.5x `.tflite` at 64x64 with metadata (read by the graph reader, the
metadata reader, the classifier the evaluation uses and the benchmark tool with
--profile), and a JPEG through the data pipeline. Each reader runs in a worker
subprocess (tests/mutation.py), so a segfault or hang counts as an outcome.
`tests/test_hostile_files.py` runs the same campaign, smaller, as a test.
"""

import argparse
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import mutation  # noqa: E402

# Inputs per reader by default: fewer where one input loads a whole Keras model.
DEFAULT_COUNTS = {
    "pth_zip": 1000, "pth_legacy": 1000, "tflite_graph": 500, "tflite_metadata": 500,
    "tflite_classifier": 500, "tflite_benchmark": 150, "weights_h5": 100, "keras": 60,
    "image_folder": 1000,
}


def cpu_line():
    """The CPU model, core count and the ISA flags that decide kernel speed."""
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    isa = " ".join(f"{name}={'yes' if name in flags else 'no'}" for name in ("avx2", "avx512f", "avx512_vnni"))
    return f"CPU: {model}, {os.cpu_count()} cores; {isa}"


def make_large_seed(reader, directory):
    try:
        return mutation.make_seed(reader, directory, large=True), "large"
    except ImportError as error:  # no torch: the suite's small state dict
        print(f"{reader}: {error}; using the small seed", flush=True)
        return mutation.make_seed(reader, directory), "small"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", default=",".join(DEFAULT_COUNTS), help="comma-separated readers")
    parser.add_argument("--count", type=int, default=None, help="inputs per reader (default: per reader)")
    parser.add_argument("--seed", type=int, default=0, help="the mutation seed")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one input may take")
    args = parser.parse_args(argv)
    readers = [r.strip() for r in args.readers.split(",") if r.strip()]
    unknown = sorted(set(readers) - set(DEFAULT_COUNTS))
    if unknown:
        parser.error(f"--readers: unknown {', '.join(unknown)}; known: {', '.join(DEFAULT_COUNTS)}")
    print(cpu_line())
    print(f"Python {platform.python_version()}, mutation seed {args.seed}")
    workdir = tempfile.mkdtemp(prefix="robustness-")
    env = {mutation.LARGE_ENV: "1"}
    seeds, failed = {}, False
    for reader in readers:
        kind = "tflite" if reader.startswith("tflite_") else reader
        if kind not in seeds:
            seeds[kind] = make_large_seed(reader, os.path.join(workdir, kind))
        seed_path, size = seeds[kind]
        count = args.count or DEFAULT_COUNTS[reader]
        start = time.perf_counter()
        if reader == "image_folder":
            report = mutation.image_folder_campaign(seed_path, count=count, seed=args.seed, workdir=workdir)
        else:
            report = mutation.Campaign(reader, seed_path, count=count, seed=args.seed, workdir=workdir,
                                       timeout_s=args.timeout, env=env).run()
        lines = report.lines()
        print(f"{lines[0]}  [seed {os.path.basename(seed_path)}, {os.path.getsize(seed_path)} bytes, {size}; "
              f"{time.perf_counter() - start:.0f} s]")
        print("\n".join(lines[1:]), flush=True)
        failed |= bool(report.failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Seeded byte mutations of the files the project reads, fed to its readers in a worker
subprocess, so that a segfault, a hang or a runaway allocation in native code is caught
and counted instead of taking the test run down.

    from mutation import Campaign, mutants
    campaign = Campaign("pth_zip", seed_path, count=300, seed=0)
    report = campaign.run()        # a CampaignReport: outcomes by error type, slowest, peak RSS

Used by `tests/test_hostile_files.py` (a few hundred inputs per reader) and by
`benchmarks/robustness.py` (a bigger campaign that prints the figures).

Outcomes of one input:
    ok           the reader accepted it (the mutation hit bytes that are only data)
    refused      the reader raised its documented error type, naming the file
    escaped      any other exception, or a documented one that does not name the file
    crash        the worker died (a signal: segfault, abort, out of memory)
    timeout      no answer within the time limit
"""

import collections
import dataclasses
import json
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# Set to 1 for a worker whose reader needs the large seed's model (`.weights.h5`).
LARGE_ENV = "MUTATION_LARGE_SEEDS"
# Integers that make a length or an offset read from the file absurd.
_HOSTILE_INTS = (0, 1, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 1 << 40, (1 << 62) - 1)


def mutants(data, count, seed):
    """`count` seeded mutations of `data`: (description, bytes). Positions favour the
    first and last 4 KiB, where headers, the zip directory and the flatbuffer root live."""
    rng = random.Random(seed)
    size = len(data)

    def position():
        where = rng.random()
        if where < 1 / 3:
            return rng.randrange(min(size, 4096))
        if where < 2 / 3:
            return size - 1 - rng.randrange(min(size, 4096))
        return rng.randrange(size)

    for index in range(count):
        kind = ("flip", "bytes", "int", "truncate", "cut", "repeat", "zero")[index % 7]
        out = bytearray(data)
        at = position()
        if kind == "flip":
            for _ in range(rng.randint(1, 8)):
                out[position()] ^= 1 << rng.randrange(8)
        elif kind == "bytes":
            for _ in range(rng.randint(1, 4)):
                out[position()] = rng.randrange(256)
        elif kind == "int":
            width = rng.choice((4, 8))
            value = rng.choice(_HOSTILE_INTS) & ((1 << (8 * width)) - 1)
            at = min(at, size - width)
            out[at : at + width] = struct.pack("<Q" if width == 8 else "<I", value)
        elif kind == "truncate":
            out = out[:at]
        elif kind == "cut":
            del out[at : at + rng.randint(1, 64)]
        elif kind == "repeat":
            out[at:at] = out[at : at + rng.randint(1, 64)]
        else:
            out[at : at + rng.randint(1, 64)] = bytes(min(64, size - at))
        yield f"{index}:{kind}@{at}", bytes(out)


@dataclasses.dataclass
class CampaignReport:
    reader: str
    tried: int = 0
    outcomes: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    examples: dict = dataclasses.field(default_factory=dict)  # outcome -> (mutation, message)
    slowest_s: float = 0.0
    slowest: str = ""
    peak_rss_mb: float = 0.0  # the worker's peak resident memory
    peak_case: str = ""  # the input that raised it last
    baseline_rss_mb: float = 0.0  # its resident memory once the reader was set up
    worker_starts: int = 0

    @property
    def failures(self):
        """Outcomes other than ok / refused:*, with one example each."""
        return {
            outcome: self.examples[outcome] for outcome in self.outcomes
            if not (outcome == "ok" or outcome.startswith("refused:"))
        }

    def lines(self):
        by_type = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items(), key=lambda kv: -kv[1]))
        return [
            f"{self.reader}: {self.tried} inputs: {by_type}",
            f"    slowest {self.slowest_s * 1000:.0f} ms ({self.slowest}); peak RSS "
            f"{self.peak_rss_mb:.0f} MB ({self.peak_rss_mb - self.baseline_rss_mb:+.0f} MB over the "
            f"{self.baseline_rss_mb:.0f} MB of the set-up reader, reached at {self.peak_case}); "
            f"worker starts {self.worker_starts}",
        ] + [f"    {outcome}: {mutation}: {message}" for outcome, (mutation, message) in self.failures.items()]


class Campaign:
    """Feeds `count` mutants of the file `seed_path` to the reader `reader` (a name in
    `READERS`) in a worker process, restarting the worker after a crash or a timeout."""

    def __init__(self, reader, seed_path, *, count, seed=0, workdir, timeout_s=60.0, env=None):
        self.reader, self.seed_path, self.count, self.seed = reader, seed_path, count, seed
        self.workdir, self.timeout_s = workdir, timeout_s
        self.env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
        self.worker = None

    def _start(self, report):
        self.log = os.path.join(self.workdir, f"worker-{self.reader}-{report.worker_starts}.log")
        with open(self.log, "wb") as log:
            self.worker = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "mutation.py"), "--worker", self.reader],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                env=self.env, text=True, bufsize=1,
            )
        report.worker_starts += 1
        ready = self._answer(timeout_s=300)  # set-up: imports, building a model
        if ready is None or "ready" not in ready:
            raise RuntimeError(f"the {self.reader} worker did not start: {ready}")
        report.baseline_rss_mb = max(report.baseline_rss_mb, ready["rss_mb"])

    def _answer(self, timeout_s):
        readable, _, _ = select.select([self.worker.stdout], [], [], timeout_s)
        if not readable:
            return None
        line = self.worker.stdout.readline()
        return json.loads(line) if line else {"died": self.worker.wait()}

    def _stop(self):
        if self.worker is not None:
            self.worker.kill()
            self.worker.wait()
            self.worker = None

    def run(self):
        with open(self.seed_path, "rb") as f:
            data = f.read()
        suffix = os.path.basename(self.seed_path).partition(".")[2]
        return self.run_inputs(mutants(data, self.count, self.seed), suffix)

    def run_inputs(self, inputs, suffix):
        """Feeds `(description, bytes)` pairs, each written as `mutant.<suffix>`."""
        report = CampaignReport(self.reader)
        folder = os.path.join(self.workdir, self.reader)
        os.makedirs(folder, exist_ok=True)
        try:
            for mutation, content in inputs:
                path = os.path.join(folder, f"mutant.{suffix}")
                with open(path, "wb") as f:
                    f.write(content)
                if self.worker is None:
                    self._start(report)
                self.worker.stdin.write(path + "\n")
                self.worker.stdin.flush()
                answer = self._answer(self.timeout_s)
                if answer is None:
                    outcome, message, seconds = "timeout", f"no answer in {self.timeout_s:.0f} s", self.timeout_s
                    self._stop()
                elif "died" in answer:
                    outcome, seconds = "crash", 0.0
                    message = f"worker exit status {answer['died']}: {_tail(self.log)}"
                    self._stop()
                else:
                    outcome, message, seconds = answer["outcome"], answer["message"], answer["seconds"]
                    if answer["peak_rss_mb"] > report.peak_rss_mb:
                        report.peak_rss_mb, report.peak_case = answer["peak_rss_mb"], mutation
                report.tried += 1
                report.outcomes[outcome] += 1
                report.examples.setdefault(outcome, (mutation, message))
                if seconds >= report.slowest_s:
                    report.slowest_s, report.slowest = seconds, mutation
        finally:
            self._stop()
        return report


def image_folder_campaign(seed_path, *, count, seed=0, workdir, timeout_s=600.0):
    """`count` mutants of an image, as one folder through the data pipeline in a worker
    (one tf.data pass, not `count`): each image is produced or skipped by name."""
    root = os.path.join(workdir, "image_folder")
    os.makedirs(os.path.join(root, "class"), exist_ok=True)
    with open(seed_path, "rb") as f:
        data = f.read()
    suffix = os.path.splitext(seed_path)[1]
    names = {}
    for mutation, content in mutants(data, count, seed):
        name = f"mutant{len(names):04d}{suffix}"
        names[name] = mutation
        with open(os.path.join(root, "class", name), "wb") as f:
            f.write(content)
    campaign = Campaign("image_folder", seed_path, count=0, seed=seed, workdir=workdir, timeout_s=timeout_s)
    report = CampaignReport("image_folder")
    try:
        campaign._start(report)
        campaign.worker.stdin.write(root + "\n")
        campaign.worker.stdin.flush()
        answer = campaign._answer(timeout_s)
    finally:
        campaign._stop()
    report.tried = count
    if answer is None or "died" in answer or answer["outcome"] != "ok":
        outcome = "timeout" if answer is None else "crash" if "died" in answer else answer["outcome"]
        report.outcomes[outcome] = count
        report.examples[outcome] = ("the folder", str(answer)[:300])
        return report
    result = answer["result"]
    report.peak_rss_mb, report.peak_case = answer["peak_rss_mb"], "the folder"
    report.slowest_s, report.slowest = answer["seconds"], f"the folder of {count} (one pass)"
    skipped = set(result["skipped"])
    report.outcomes["ok"] = result["produced"]
    report.outcomes["refused:skipped"] = len(skipped)
    for name in sorted(skipped):
        report.examples.setdefault("refused:skipped", (names.get(name, name), name))
    lost = count - result["produced"] - len(skipped & set(names))
    if lost or result["listed"] != count:
        report.outcomes["escaped:lost"] = max(lost, 1)
        report.examples["escaped:lost"] = ("the folder", f"{result}")
    return report


# --- Seed files: valid inputs of each reader, made here (no downloads) -------------------------

def make_seed(reader, directory, *, large=False):
    """A valid file for `reader` in `directory`, and its path. `large` gives files the
    size users have (a torchvision ShuffleNetV2 0.5x state dict, a ShuffleNet `.tflite`);
    otherwise small ones, so the test campaign stays cheap."""
    os.makedirs(directory, exist_ok=True)
    if reader in ("pth_zip", "pth_legacy"):
        return _pth_seed(reader == "pth_zip", directory, large)
    if reader in ("weights_h5", "keras"):
        return _keras_seed(reader, directory, large)
    if reader.startswith("tflite_"):
        return _tflite_seed(directory, large)
    if reader == "image_folder":
        return _image_seed(directory)
    raise ValueError(f"unknown reader {reader!r}")


def _pth_seed(zip_format, directory, large):
    """A state dict in torchvision's layout. Large: the real ShuffleNetV2 0.5x from
    `torch.save` (needs torch); small: 24 float32 tensors (views sharing storages)
    written by the torch-free writers of `test_pth`."""
    path = os.path.join(directory, f"state_dict_{'zip' if zip_format else 'legacy'}.pth")
    if large:
        import torch

        from torch_reference import ShuffleNetV2

        torch.manual_seed(0)
        torch.save(ShuffleNetV2(0.5).state_dict(), path, _use_new_zipfile_serialization=zip_format)
        return path
    import numpy as np

    from test_pth import _Storage, _Tensor, write_legacy_pth, write_zip_pth

    rng = np.random.default_rng(0)
    obj, storages = {}, {}
    for i in range(12):
        shape = (8 + i, 4, 3, 3) if i % 2 else (16 + i,)
        numel = int(np.prod(shape))
        storages[str(i)] = rng.standard_normal(numel + 6).astype("<f4")
        storage = _Storage(str(i), numel + 6)
        strides = tuple(int(np.prod(shape[d + 1 :])) for d in range(len(shape)))
        obj[f"layer{i}.weight"] = _Tensor(storage, 0, shape, strides)
        obj[f"layer{i}.tail"] = _Tensor(storage, numel, (6,), (1,))  # a second view of it
    (write_zip_pth if zip_format else write_legacy_pth)(path, obj, storages)
    return path


def _small_keras_model():
    import keras

    from keras_shufflenet import layers

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv")(inputs)
    x = layers.ChannelShuffle(2, name="shuffle")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="fc")(x))


def _shufflenet(size):
    import keras_shufflenet

    return keras_shufflenet.ShuffleNetV2(0.5, input_shape=(size, size, 3), classes=10, weights=None)


def _weights_model(large):
    """The model a `.weights.h5` seed is saved from and its mutants are loaded into."""
    return _shufflenet(32) if large else _small_keras_model()


def _keras_seed(reader, directory, large):
    if reader == "weights_h5":
        path = os.path.join(directory, f"{'shufflenet' if large else 'small'}.weights.h5")
        _weights_model(large).save_weights(path)
        return path
    path = os.path.join(directory, "model.keras")
    (_shufflenet(32) if large else _small_keras_model()).save(path)
    return path


def _tflite_seed(directory, large):
    """A float32 `.tflite` with classifier metadata and a packed labels file."""
    from keras_shufflenet.tflite import export, metadata

    model = _shufflenet(64) if large else _small_keras_model()
    labels = [f"class{i}" for i in range(model.output_shape[-1])]
    path = os.path.join(directory, "model.tflite")
    export.export_tflite(model, path, mode="float32", metadata=metadata.ClassifierMetadata(labels=labels))
    return path


def _image_seed(directory):
    """A 40x30 JPEG with structure (so the codec keeps detail worth damaging)."""
    import numpy as np
    from PIL import Image

    ramp = np.linspace(0, 255, 40, dtype=np.float32)[None, :, None]
    pixels = (ramp * np.ones((30, 1, 3)) + np.arange(3) * 40) % 256
    path = os.path.join(directory, "image.jpg")
    Image.fromarray(pixels.astype(np.uint8)).save(path, quality=90)
    return path


def _tail(path, lines=3):
    with open(path, errors="replace") as f:
        kept = [line.strip() for line in f if line.strip() and not line.startswith(("E0000", "W0000", "I0000"))]
    return " | ".join(kept[-lines:])[-500:]


# --- The worker: the readers, as a user calls them ------------------------------------------

def _refusal(error, path, documented):
    """The outcome of an exception: refused:<type> when documented and naming the file."""
    name = type(error).__name__
    if isinstance(error, documented) and os.path.basename(path) in str(error):
        return f"refused:{name}"
    return f"escaped:{name}"


def _setup(reader):
    """(function(path), documented error types) for a reader name."""
    if reader in ("pth_zip", "pth_legacy"):
        from keras_shufflenet import pth

        return pth.load_state_dict, (pth.PthFormatError, pth.UnsafePickleError)
    if reader == "weights_h5":
        from keras_shufflenet import pretrained

        model = _weights_model(large=os.environ.get(LARGE_ENV) == "1")
        # ValueError: a file of another architecture (a shape changed), named by layer.
        return (lambda path: pretrained.load_weights_file(model, path, family="v2")), (
            pretrained.WeightsFileError, ValueError)
    if reader == "keras":
        import keras  # noqa: F401  (imported at set-up, not inside the first input's time)

        from keras_shufflenet.pipelines import evaluate

        return evaluate.load_keras_model, (evaluate.ModelFileError,)
    if reader.startswith("tflite_"):
        return _setup_tflite(reader)
    if reader == "selftest":  # the harness's own test: a reader that crashes or hangs
        def misbehave(path):
            with open(path, "rb") as f:
                content = f.read()
            if content == b"segfault":
                os.kill(os.getpid(), signal.SIGSEGV)
            if content == b"hang":
                time.sleep(3600)
            raise ValueError(f"{path}: refused")

        return misbehave, (ValueError,)
    if reader == "image_folder":
        from keras_shufflenet.pipelines.data import build_dataset

        def read_folder(root):
            """Every image of `root` through the pipeline: those it produced and those
            it skipped, by name."""
            listed, produced, skipped = 0, 0, []
            for split in ("train", "validation"):  # a folder's images, each in one of the two
                dataset, info = build_dataset(root, split, training=False, image_size=24, batch_size=64)
                produced += sum(int(y.shape[0]) for _, y in dataset)
                listed += info.num_examples
                skipped += [os.path.basename(name) for name in info.skipped_names()]
            return {"listed": listed, "produced": produced, "skipped": skipped}

        return read_folder, ()
    raise ValueError(f"unknown reader {reader!r}; known: {', '.join(READERS)}")


def _setup_tflite(reader):
    import numpy as np

    from keras_shufflenet.tflite.device import benchmark, graph, runtime

    documented = (runtime.TFLiteFileError,)
    if reader == "tflite_graph":
        return graph.summarize, documented
    if reader == "tflite_metadata":
        from keras_shufflenet.tflite import metadata

        return metadata.read_metadata, documented
    if reader == "tflite_classifier":
        def classify(path):
            classifier = runtime.TFLiteClassifier(path)
            classifier.predict(np.full((1, *classifier.input_shape[1:]), 128.0, np.float32))

        return classify, documented + (ValueError,)
    if reader == "tflite_benchmark":
        class OneLineError(Exception):
            pass

        def run_tool(path):
            import contextlib
            import io

            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                status = benchmark.main([path, "--runs=2", "--warmup=0", "--profile", "--profile_runs=1"])
            lines = [line for line in err.getvalue().splitlines() if line.startswith("error: ")]
            if status == 1 and len(lines) == 1:
                raise OneLineError(lines[0])
            if status != 0:
                raise RuntimeError(f"exit status {status}: {err.getvalue()[-300:]}")

        return run_tool, (OneLineError,)
    raise ValueError(f"unknown reader {reader!r}")


READERS = (
    "pth_zip", "pth_legacy", "weights_h5", "keras", "tflite_graph", "tflite_metadata",
    "tflite_classifier", "tflite_benchmark", "image_folder",
)


def _status_mb(field):
    """VmRSS (resident now) or VmHWM (peak resident) of this process, in MB. (Not
    ru_maxrss: Linux keeps that across execve, so a worker would report its parent's.)"""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _worker(reader):
    read, documented = _setup(reader)
    out = sys.stdout
    sys.stdout = sys.stderr  # whatever the readers print must not garble the answers
    print(json.dumps({"ready": True, "rss_mb": _status_mb("VmRSS")}), file=out, flush=True)
    for line in sys.stdin:
        path = line.rstrip("\n")
        start = time.perf_counter()
        result = None
        try:
            result = read(path)
            outcome, message = "ok", ""
        except Exception as error:  # the campaign's point: classify whatever comes out
            outcome, message = _refusal(error, path, documented), str(error)[:300]
        seconds = time.perf_counter() - start
        peak = _status_mb("VmHWM")
        print(json.dumps({"outcome": outcome, "message": message, "seconds": seconds, "peak_rss_mb": peak,
                          "result": result}, default=lambda value: None),  # arrays read: not sent
              file=out, flush=True)


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    _worker(sys.argv[2])

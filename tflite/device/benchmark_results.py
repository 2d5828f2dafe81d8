"""The benchmark's data model: how a model runs (`Setting`), how long and on what
(`RunConfig`), and what was measured (`Result`), shared by the local tool
(`benchmark.py`) and the Android one (`adb.py`). Standard library and numpy only.
"""

import dataclasses
import os

import numpy as np

try:
    from . import benchmark_report
except ImportError:  # run as a copied file next to its siblings
    import benchmark_report


@dataclasses.dataclass(frozen=True)
class Setting:
    """How a model runs: CPU threads, XNNPACK on or off, and an optional external
    delegate library (a path, or a name the dynamic loader finds)."""

    threads: int = 1
    xnnpack: bool = True
    delegate: str | None = None

    def __post_init__(self):
        if not isinstance(self.threads, int) or isinstance(self.threads, bool) or self.threads < 1:
            raise ValueError(f"threads must be a positive integer; got {self.threads!r}")

    @property
    def label(self):
        return benchmark_report.setting_label(self.threads, self.xnnpack, self.delegate)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """How long and on what to measure.

    Args:
        warmup: untimed rounds (every model once) before timing.
        runs: timed rounds; ignored when `duration` is set.
        duration: seconds of timed rounds per setting instead of a fixed count.
        input: "random", or a folder of images / .npy arrays.
        seed: seeds the random inputs.
        profile: also profile each model per operator.
        profile_runs: timed runs of each one-op model in the profile.
    """

    warmup: int = 5
    runs: int = 50
    duration: float | None = None
    input: str = "random"
    seed: int = 0
    profile: bool = False
    profile_runs: int = 20

    def __post_init__(self):
        if not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"warmup must be an integer >= 0; got {self.warmup!r}")
        if self.duration is None:
            if not isinstance(self.runs, int) or self.runs < 1:
                raise ValueError(f"runs must be an integer >= 1; got {self.runs!r}")
        elif not self.duration > 0:
            raise ValueError(f"duration must be > 0 seconds; got {self.duration!r}")
        if self.input != "random" and not os.path.isdir(self.input):
            raise ValueError(f"input must be 'random' or a folder of images; {self.input!r} is neither")
        if not isinstance(self.profile_runs, int) or self.profile_runs < 1:
            raise ValueError(f"profile_runs must be an integer >= 1; got {self.profile_runs!r}")


@dataclasses.dataclass
class Result:
    """One model under one setting. Times in ms, sizes in MB (10^6 bytes for the
    file, 2^20 for memory), throughput in inferences per second. `error` is a
    one-line reason when the model could not be measured (the numbers are then None)."""

    name: str
    path: str
    threads: int
    xnnpack: bool
    delegate: str | None = None
    tool: str = "litert-python"
    size_mb: float | None = None
    load_ms: float | None = None
    first_ms: float | None = None
    median_ms: float | None = None
    mean_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    std_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    runs: int = 0
    throughput: float | None = None
    rss_delta_mb: float | None = None
    peak_rss_mb: float | None = None
    partitions: int | None = None
    ratio: float | None = None
    accuracy: float | None = None
    error: str | None = None
    latencies_ms: list = dataclasses.field(default_factory=list, repr=False)
    profile: object = dataclasses.field(default=None, repr=False)

    @property
    def setting(self):
        return Setting(self.threads, self.xnnpack, self.delegate)

    @property
    def latency_ms(self):
        """The latency ratios compare: the median, or the mean where only it is known."""
        return self.median_ms if self.median_ms is not None else self.mean_ms

    def to_dict(self, full=False):
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out.pop("latencies_ms")
        out.pop("profile")
        if full:
            out["latencies_ms"] = [round(v, 4) for v in self.latencies_ms]
            out["profile"] = self.profile.to_dict() if self.profile is not None else None
        return out


def fill_stats(result, latencies_ms):
    """Sets the latency statistics of `result` from per-run latencies in ms."""
    values = np.asarray(latencies_ms, dtype=np.float64)
    result.latencies_ms = [float(v) for v in values]
    result.runs = int(values.size)
    result.median_ms = float(np.median(values))
    result.mean_ms = float(values.mean())
    result.p90_ms = float(np.percentile(values, 90))
    result.p99_ms = float(np.percentile(values, 99))
    result.std_ms = float(values.std(ddof=1)) if values.size > 1 else 0.0
    result.min_ms = float(values.min())
    result.max_ms = float(values.max())
    result.throughput = 1000.0 / result.mean_ms if result.mean_ms > 0 else None
    return result


def model_names(paths):
    """Short names for `paths`: the file stem, with the parent folder where stems repeat."""
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    names = []
    for path, stem in zip(paths, stems):
        if stems.count(stem) > 1:
            stem = f"{os.path.basename(os.path.dirname(os.path.abspath(path)))}/{stem}"
        names.append(stem)
    if len(set(names)) != len(names):
        raise ValueError(f"models must have distinct paths; got {list(paths)}")
    return names


def add_ratios(results, baseline):
    """Sets `ratio` = latency / the baseline model's latency under the same setting."""
    reference = {
        r.setting: r.latency_ms for r in results if r.name == baseline and r.error is None
    }
    for r in results:
        base = reference.get(r.setting)
        r.ratio = r.latency_ms / base if (base and r.error is None and r.latency_ms) else None
    return results


def one_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def new_result(name, path, setting):
    result = Result(name=name, path=str(path), threads=setting.threads,
                    xnnpack=setting.xnnpack, delegate=setting.delegate)
    if os.path.isfile(path):
        result.size_mb = os.path.getsize(path) / 1e6
    return result



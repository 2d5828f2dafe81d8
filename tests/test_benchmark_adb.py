"""The --adb mode: command construction and parsing of `benchmark_model` logs.

adb and a device are not available here. The logs below are written in the
format of the official TFLite/LiteRT `benchmark_model` (its stat lines from
`Stat::OutputToStream`, the "Inference timings in us" summary of
`BenchmarkLoggingListener`, and the op-profiling tables of the profile
summarizer, as documented in the tool's README): an older build without log
prefixes or percentiles and with built-in kernels, and a newer one with
"INFO: " prefixes, p5/median/p95 and XNNPACK. The numbers are made up.
"""

import json

import pytest

from keras_shufflenet.tflite.device import adb, benchmark
from keras_shufflenet.tflite.device.benchmark import RunConfig, Setting

T = "\t"


def _row(*cells):
    return T + T.join(cells)


ORDER_HEADER = _row("             [node type]", "          [start]", "  [first]", " [avg ms]", "     [%]",
                    "  [cdf%]", "  [mem KB]", "[times called]", "[Name]")
TYPE_HEADER = _row("             [Node type]", "  [count]", "  [avg ms]", "    [avg %]", "    [cdf %]",
                   "  [mem KB]", "[times called]")

OLD_BUILTIN_PROFILE = "\n".join([
    "STARTING!",
    "Log parameter values verbosely: [0]",
    "Num threads: [1]",
    "Graph: [/data/local/tmp/keras_shufflenet/v2_float.tflite]",
    "Enable op profiling: [1]",
    "#threads used for CPU inference: [1]",
    "Loaded model /data/local/tmp/keras_shufflenet/v2_float.tflite",
    "The input model file size (MB): 9.09776",
    "Initialized session in 3.512ms.",
    "Running benchmark for at least 2 iterations and at least 0 seconds but terminate if exceeding 150 seconds.",
    "count=2 first=31877 curr=29012 min=29012 max=31877 avg=30444.5 std=1432",
    "",
    "Running benchmark for at least 20 iterations and at least 0 seconds but terminate if exceeding 150 seconds.",
    "count=20 first=28840 curr=28790 min=28310 max=30480 avg=2.8915e+04 std=512",
    "",
    "Inference timings in us: Init: 3512, First inference: 31877, Warmup (avg): 30444.5, "
    "Inference (avg): 28915",
    "Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to "
    "the actual memory footprint of the model at runtime. Take the information at your discretion.",
    "Memory footprint delta from the start of the tool (MB): init=10.2305 overall=21.6289",
    "Profiling Info for Benchmark Initialization:",
    "============================== Run Order ==============================",
    ORDER_HEADER,
    _row("         AllocateTensors", "            0.000", "    1.204", "    1.204", "100.000%", "100.000%",
         "     0.000", "        1", "AllocateTensors/0"),
    "",
    "Number of nodes executed: 1",
    "============================== Summary by node type ==============================",
    TYPE_HEADER,
    _row("         AllocateTensors", "        1", "     1.204", "   100.000%", "   100.000%", "     0.000",
         "        1"),
    "",
    "Timings (microseconds): count=1 curr=1204",
    "Memory (bytes): count=0",
    "1 nodes observed",
    "",
    "",
    "Operator-wise Profiling Info for Regular Benchmark Runs:",
    "============================== Run Order ==============================",
    ORDER_HEADER,
    _row("                 CONV_2D", "            0.000", "    3.120", "    3.002", " 10.382%", " 10.382%",
         "     0.000", "        1", "[model/conv1_relu/Relu;model/conv1_conv/Conv2D]:0"),
    _row("             MAX_POOL_2D", "            3.004", "    0.510", "    0.498", "  1.722%", " 12.104%",
         "     0.000", "        1", "[model/maxpool/MaxPool2d]:1"),
    _row("               TRANSPOSE", "            3.503", "    0.920", "    0.871", "  3.012%", " 15.116%",
         "     0.000", "        1", "[model/stage2_unit0_shuffle/transpose]:2"),
    _row("                 CONV_2D", "            4.375", "   24.800", "   24.544", " 84.884%", "100.000%",
         "     0.000", "        1", "[model/conv5_relu/Relu;model/conv5_conv/Conv2D]:3"),
    "",
    "============================== Top by Computation Time ==============================",
    ORDER_HEADER,
    _row("                 CONV_2D", "            4.375", "   24.800", "   24.544", " 84.884%", " 84.884%",
         "     0.000", "        1", "[model/conv5_relu/Relu;model/conv5_conv/Conv2D]:3"),
    "",
    "Number of nodes executed: 4",
    "============================== Summary by node type ==============================",
    TYPE_HEADER,
    _row("                 CONV_2D", "        2", "    27.546", "    95.266%", "    95.266%", "     0.000",
         "        2"),
    _row("               TRANSPOSE", "        1", "     0.871", "     3.012%", "    98.278%", "     0.000",
         "        1"),
    _row("             MAX_POOL_2D", "        1", "     0.498", "     1.722%", "   100.000%", "     0.000",
         "        1"),
    "",
    "Timings (microseconds): count=20 first=28810 curr=28770 min=28290 max=30450 avg=28890 std=511",
    "Memory (bytes): count=0",
    "4 nodes observed",
    "",
])

NEW_XNNPACK = "\n".join([
    "INFO: STARTING!",
    "INFO: Log parameter values verbosely: [0]",
    "INFO: Min num runs: [50]",
    "INFO: Min runs duration (seconds): [0]",
    "INFO: Num threads: [4]",
    "INFO: Min warmup runs: [5]",
    "INFO: Graph: [/data/local/tmp/keras_shufflenet/v2_int8.tflite]",
    "INFO: #threads used for CPU inference: [4]",
    "INFO: Use xnnpack: [1]",
    "INFO: Loaded model /data/local/tmp/keras_shufflenet/v2_int8.tflite",
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    "INFO: XNNPACK delegate created.",
    "INFO: Replacing 149 out of 150 node(s) with delegate (TfLiteXNNPackDelegate) node, "
    "yielding 2 partitions for the whole graph.",
    "INFO: The input model file size (MB): 2.53308",
    "INFO: Initialized session in 41.873ms.",
    "INFO: Running benchmark for at least 5 iterations and at least 0 seconds but terminate if "
    "exceeding 150 seconds.",
    "INFO: count=5 first=9712 curr=6215 min=6190 max=9712 avg=6921.4 std=1394 p5=6190 median=6251 p95=9712",
    "",
    "INFO: Running benchmark for at least 50 iterations and at least 0 seconds but terminate if "
    "exceeding 150 seconds.",
    "INFO: count=50 first=6232 curr=6101 min=5987 max=7420 avg=6204.3 std=231 p5=6003 median=6150 p95=6712",
    "",
    "INFO: Inference timings in us: Init: 41873, First inference: 9712, Warmup (avg): 6921.4, "
    "Inference (avg): 6204.3",
    "INFO: Note: as the benchmark tool itself affects memory footprint, the following is only "
    "APPROXIMATE to the actual memory footprint of the model at runtime. Take the information at "
    "your discretion.",
    "INFO: Memory footprint delta from the start of the tool (MB): init=6.49609 overall=14.0117",
    "INFO: Overall peak memory footprint (MB) via periodic monitoring: 17.25",
])

FAILED = "\n".join([
    "INFO: STARTING!",
    "INFO: Graph: [/data/local/tmp/keras_shufflenet/broken.tflite]",
    "ERROR: The model is not a valid Flatbuffer buffer",
    "ERROR: Failed to mmap model /data/local/tmp/keras_shufflenet/broken.tflite",
    "ERROR: Benchmarking failed.",
])


def test_parses_an_older_build_with_op_profile():
    run = adb.parse_benchmark_output(OLD_BUILTIN_PROFILE)
    assert (run.init_ms, run.first_ms, run.warmup_avg_ms, run.mean_ms) == (3.512, 31.877, 30.4445, 28.915)
    assert run.count == 20  # the timed runs, not the warmup's stat line
    assert (run.min_ms, run.max_ms, run.std_ms) == (28.31, 30.48, 0.512)
    assert run.median_ms is None and run.p95_ms is None  # older builds print no percentiles
    assert (run.size_mb, run.memory_init_mb, run.memory_overall_mb) == (9.09776, 10.2305, 21.6289)
    assert run.partitions is None
    profile = run.profile
    assert profile.method == "benchmark_model --enable_op_profiling"
    # The regular runs' table, not the initialization's AllocateTensors.
    assert [(op.index, op.op_type, op.ms) for op in profile.ops] == [
        (0, "CONV_2D", 3.002), (1, "MAX_POOL_2D", 0.498), (2, "TRANSPOSE", 0.871), (3, "CONV_2D", 24.544),
    ]
    assert profile.ops[2].name == "model/stage2_unit0_shuffle/transpose"
    assert profile.total_ms == pytest.approx(28.915)
    assert profile.ops[3].share == pytest.approx(24.544 / 28.915)
    assert [(t.op_type, t.count, t.ms) for t in profile.by_type] == [
        ("CONV_2D", 2, 27.546), ("TRANSPOSE", 1, 0.871), ("MAX_POOL_2D", 1, 0.498),
    ]
    assert sum(t.share for t in profile.by_type) == pytest.approx(1.0)


def test_parses_a_newer_build_with_percentiles_and_xnnpack():
    run = adb.parse_benchmark_output(NEW_XNNPACK)
    assert run.count == 50 and run.mean_ms == pytest.approx(6.2043)
    assert (run.median_ms, run.p5_ms, run.p95_ms) == (6.15, 6.003, 6.712)
    assert run.partitions == 2 and run.peak_memory_mb == 17.25
    assert run.profile is None


def test_a_failed_run_gives_the_tools_first_error():
    with pytest.raises(ValueError, match=r"^benchmark_model failed: ERROR: The model is not a valid Flatbuffer buffer$"):
        adb.parse_benchmark_output(FAILED)
    with pytest.raises(ValueError, match="no 'Inference timings' line"):
        adb.parse_benchmark_output("some unrelated text\n")


@pytest.fixture
def device(tmp_path):
    binary = tmp_path / "benchmark_model"
    binary.write_bytes(b"\x7fELF fake")
    return adb.AdbConfig(binary=str(binary), serial="emulator-5554", taskset="f0")


def test_command_construction(device):
    setting = Setting(threads=4, xnnpack=False)
    command = adb.run_command(device, "/data/local/tmp/keras_shufflenet/m.tflite", setting,
                              RunConfig(warmup=3, runs=40, profile=True))
    assert command == [
        "adb", "-s", "emulator-5554", "shell",
        "taskset f0 /data/local/tmp/keras_shufflenet/benchmark_model "
        "--graph=/data/local/tmp/keras_shufflenet/m.tflite --num_threads=4 --warmup_runs=3 "
        "--warmup_min_secs=0 --num_runs=40 --min_secs=0 --use_xnnpack=false --enable_op_profiling=true",
    ]
    flags = adb.benchmark_flags("/d/m.tflite", Setting(1, True, "/libs/libedgetpu.so.1"),
                                RunConfig(warmup=0, duration=7.5), "/d/libedgetpu.so.1")
    assert flags == [
        "--graph=/d/m.tflite", "--num_threads=1", "--warmup_runs=0", "--warmup_min_secs=0",
        "--num_runs=1", "--min_secs=7.5", "--max_secs=8.5", "--use_xnnpack=true",
        "--external_delegate_path=/d/libedgetpu.so.1",
    ]
    setup = adb.setup_commands(device, ["/libs/libedgetpu.so.1"])
    assert setup == [
        ["adb", "-s", "emulator-5554", "shell", "mkdir -p /data/local/tmp/keras_shufflenet"],
        ["adb", "-s", "emulator-5554", "push", device.binary, "/data/local/tmp/keras_shufflenet/benchmark_model"],
        ["adb", "-s", "emulator-5554", "shell", "chmod 755 /data/local/tmp/keras_shufflenet/benchmark_model"],
        ["adb", "-s", "emulator-5554", "push", "/libs/libedgetpu.so.1",
         "/data/local/tmp/keras_shufflenet/libedgetpu.so.1"],
    ]
    # Paths with shell metacharacters are quoted for the device shell.
    odd = adb.run_command(device, "/data/local/tmp/keras_shufflenet/my model.tflite", Setting(), RunConfig())
    assert "'--graph=/data/local/tmp/keras_shufflenet/my model.tflite'" in odd[-1]


def test_config_rejects_bad_values(tmp_path, device):
    with pytest.raises(ValueError, match="no such file"):
        adb.AdbConfig(binary=str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="absolute device path"):
        adb.AdbConfig(binary=device.binary, device_dir="relative/dir")
    with pytest.raises(ValueError, match="hex CPU mask"):
        adb.AdbConfig(binary=device.binary, taskset="big")


class FakeAdb:
    """Answers adb commands like a device whose `broken.tflite` fails to load."""

    def __init__(self, outputs, fail_push=()):
        self.commands, self.outputs, self.fail_push = [], outputs, fail_push

    def __call__(self, command):
        self.commands.append(command)
        if command[3] == "push" and any(command[4].endswith(name) for name in self.fail_push):
            return 1, "adb: error: failed to copy 'x' to 'y': remote No space left on device"
        if command[3] == "shell" and "--graph=" in command[4]:
            for name, output in self.outputs.items():
                if f"/{name}" in command[4]:
                    return (0 if "ERROR" not in output else 1), output
        return 0, ""


def _tflite_file(path):
    path.write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(64))  # only the header is checked locally
    return str(path)


def test_benchmark_on_device_with_a_fake_adb(tmp_path, device):
    good = _tflite_file(tmp_path / "v2_int8.tflite")
    broken = _tflite_file(tmp_path / "broken.tflite")
    full = _tflite_file(tmp_path / "full.tflite")
    missing = str(tmp_path / "missing.tflite")
    fake = FakeAdb({"v2_int8.tflite": NEW_XNNPACK, "broken.tflite": FAILED}, fail_push=["full.tflite"])
    settings = [Setting(1), Setting(4)]
    results = adb.benchmark_on_device([good, broken, missing, full], settings, RunConfig(runs=50), device,
                                      runner=fake, progress=lambda line: None)
    assert len(results) == 8
    ok = [r for r in results if r.error is None]
    assert [(r.name, r.threads) for r in ok] == [("v2_int8", 1), ("v2_int8", 4)]
    assert ok[0].tool == "benchmark_model (adb)"
    assert (ok[0].median_ms, ok[0].mean_ms, ok[0].load_ms, ok[0].runs) == (6.15, 6.2043, 41.873, 50)
    assert ok[0].size_mb == 2.53308 and ok[0].rss_delta_mb == 14.0117 and ok[0].partitions == 2
    errors = {r.name: r.error for r in results if r.threads == 1 and r.error}
    assert errors == {
        "broken": "benchmark_model failed: ERROR: The model is not a valid Flatbuffer buffer",
        "missing": f"{missing}: no such file",
        "full": "adb push failed: adb: error: failed to copy 'x' to 'y': remote No space left on device",
    }
    pushed = [c[4] for c in fake.commands if c[3] == "push"]
    assert pushed == [device.binary, good, broken, full]  # the missing file is never pushed
    runs = [c[4] for c in fake.commands if c[3] == "shell" and "--graph=" in c[4]]
    assert len(runs) == 4 and "--num_threads=4" in runs[-1]


def test_setup_failure_fails_every_model(tmp_path, device):
    fake = lambda command: (1, "error: no devices/emulators found")  # noqa: E731
    results = adb.benchmark_on_device([_tflite_file(tmp_path / "a.tflite")], [Setting()], RunConfig(),
                                      device, runner=fake, progress=lambda line: None)
    assert results[0].error == "adb setup failed: error: no devices/emulators found"


def test_cli_adb_mode_reports_like_the_local_tool(tmp_path, device, monkeypatch, capsys):
    first = _tflite_file(tmp_path / "v2_float.tflite")
    second = _tflite_file(tmp_path / "v2_int8.tflite")
    fake = FakeAdb({"v2_float.tflite": OLD_BUILTIN_PROFILE, "v2_int8.tflite": NEW_XNNPACK})
    monkeypatch.setattr(adb, "_run", lambda command, timeout: fake(command))
    out = tmp_path / "device.json"
    code = benchmark.main([first, second, f"--adb={device.binary}", "--adb_serial=emulator-5554",
                           "--profile", "--baseline=v2_float", f"--json={out}"])
    assert code == 0
    text = capsys.readouterr().out
    assert "Op profile: v2_float (1 thread, XNNPACK), benchmark_model --enable_op_profiling" in text
    results = json.loads(out.read_text())["results"]
    # The older build prints no median: its ratio falls back to the mean (28.915 ms).
    assert results[1]["ratio"] == pytest.approx(6.15 / 28.915)
    assert results[0]["profile"]["ops"][3]["op_type"] == "CONV_2D"
    images = tmp_path / "images"
    images.mkdir()
    (images / "x.npy").write_bytes(b"")
    with pytest.raises(SystemExit):
        benchmark.main([first, f"--adb={device.binary}", f"--input={images}"])
    assert "--input=DIR is not supported with --adb" in capsys.readouterr().err

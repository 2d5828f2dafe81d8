"""The README's main job runs end to end (shortened: one epoch, few timed runs)."""

import json

from keras_shufflenet.pipelines import demo


def test_demo_runs_end_to_end(tmp_path, capsys):
    summary = demo.run_demo(str(tmp_path), epochs=1, benchmark_runs=5, verbose=0)
    printed = capsys.readouterr().out
    assert "Summary: v2_0.5 on digits" in printed and "tflite int8" in printed
    assert json.loads((tmp_path / "summary.json").read_text()) == json.loads(json.dumps(summary))
    top1 = summary["top1"]
    # One input contract from training on: the same model on the same split gives the
    # training program's own number, to the last image.
    reported = json.loads((tmp_path / "train" / "result.json").read_text())["top1"]
    assert top1["keras"] == summary["training_reported_top1"] == reported
    assert summary["input_contract"]["crop_fraction"] == 1.0 and summary["input_contract"]["image_size"] == 16
    # The float32 file is the Keras model; int8 may differ on a few images only.
    assert abs(top1["keras"] - top1["tflite_float32"]) <= 1 / summary["test_examples"]
    assert summary["int8_top1_agreement_with_float32"] >= 0.9
    assert summary["file_bytes"]["int8"] < 0.5 * summary["file_bytes"]["float32"]
    assert all(ms > 0 for ms in summary["median_latency_ms_1_thread"].values())
    assert (tmp_path / "train" / "curves.png").stat().st_size > 1000

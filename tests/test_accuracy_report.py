"""The accuracy report: Keras vs float32 .tflite vs int8 .tflite on the same images."""

import json
import os

import numpy as np
from absl import flags
from export_models import build, digits, float32_file, int8_file, keras_file, model, path

from keras_shufflenet.tflite import accuracy, export
from keras_shufflenet.tflite.device import runtime


def test_float32_tflite_matches_keras_logits_within_1e4():
    logits_model = build(activation=None, head_scale=1.0)
    target = path("logits_float32.tflite")
    export.export_tflite(logits_model, target, mode="float32")
    images = digits("test")[0][:64]
    reference = logits_model.predict(images, verbose=0)
    assert np.abs(reference).max() > 1.0  # logits, not probabilities
    assert np.abs(runtime.TFLiteClassifier(target).predict(images) - reference).max() <= 1e-4


def batches(images, labels, size=32):
    return [(images[i : i + size], labels[i : i + size]) for i in range(0, len(images), size)]


def test_report_numbers_are_the_three_evaluations():
    images, labels, _ = digits("test", 96)
    report = accuracy.compare(model(), float32_file(), int8_file()[0], batches(images, labels))

    keras_scores = model().predict(images, verbose=0)
    float_scores = runtime.TFLiteClassifier(float32_file()).predict(images)
    int8_scores = runtime.TFLiteClassifier(int8_file()[0]).predict(images)

    def top1(scores):
        return float(np.mean(scores.argmax(1) == labels))

    def top5(scores):
        return float(np.mean((np.argsort(-scores, 1, kind="stable")[:, :5] == labels[:, None]).any(1)))

    assert report.num_examples == 96
    assert report.keras == {"top1": top1(keras_scores), "top5": top5(keras_scores)}
    assert report.float32 == {"top1": top1(float_scores), "top5": top5(float_scores)}
    assert report.int8["top1"] == top1(int8_scores)
    assert report.int8_drop == 100 * (top1(keras_scores) - top1(int8_scores))
    assert report.agreement == np.mean(
        np.argsort(-int8_scores, 1, kind="stable")[:, 0] == np.argsort(-float_scores, 1, kind="stable")[:, 0]
    )
    assert report.float32_agreement == 1.0 and report.float32_max_abs_diff < 1e-4
    assert report.float32_bytes == os.path.getsize(float32_file())
    assert report.int8_bytes == os.path.getsize(int8_file()[0])
    assert 0.2 < report.size_ratio < 0.4

    text = accuracy.format_report(report)
    assert f"{100 * report.keras['top1']:6.2f}%" in text and f"{report.int8_drop:+.2f} points" in text
    png = accuracy.write_plot(report, path("report.png"), title="digits")
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_program_writes_json_and_plot(capsys):
    values = flags.FlagValues()
    accuracy.define_flags(values)
    json_path, png_path = path("report.json"), path("report_cli.png")
    values([
        "accuracy", f"--model={keras_file()}", f"--float32={float32_file()}", f"--int8={int8_file()[0]}",
        "--data=digits", "--limit=64", f"--json={json_path}", f"--plot={png_path}",
    ])
    assert accuracy.main([], values) == 0
    out = capsys.readouterr().out
    assert "int8 .tflite" in out and "int8 top-1 drop" in out
    with open(json_path) as f:
        report = json.load(f)
    assert report["num_examples"] == 64 and set(report["keras"]) == {"top1", "top5"}
    assert report["size_ratio"] == report["int8_bytes"] / report["float32_bytes"]
    assert os.path.getsize(png_path) > 1000

    values(["accuracy", f"--model={path('missing.keras')}", "--float32=x.tflite", "--int8=y.tflite"])
    assert accuracy.main([], values) == 1
    assert "error: model file" in capsys.readouterr().err

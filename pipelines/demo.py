"""The main job, end to end, offline: build, train, quantize, evaluate, benchmark.

    python -m keras_shufflenet.pipelines.demo --out=runs/demo

1. trains ShuffleNet V2 0.5x (small-input stem) on the offline default data, the
   real handwritten digits that scikit-learn ships (the `digits` recipe);
2. exports a float32 `.tflite` and a full-integer int8 `.tflite` (uint8 camera
   pixels in, with Android metadata, labels and the input contract), calibrated
   on training images prepared by the model's input contract;
3. evaluates the Keras model and both `.tflite` files on the test split through
   the same input path, the contract training recorded (so the Keras number is
   the training program's own);
4. benchmarks both files with the on-device tool (LiteRT, XNNPACK, 1 thread);
5. prints a summary and writes it to `summary.json` beside the curves plot.

Every step calls the same library functions as the programs, notebooks and tests.
The program's output is its progress lines and the summary; TensorFlow's own
messages go to `demo.log` in the output folder.
"""

import json
import os

from absl import app, flags

from keras_shufflenet import input_contract
from keras_shufflenet.pipelines import tool_output

FLAGS = flags.FLAGS


def run_demo(out_dir, epochs=None, benchmark_runs=50, verbose=2):
    """Runs the whole job into `out_dir`; returns the summary dict."""
    from keras_shufflenet.pipelines import data, evaluate, recipes, train
    from keras_shufflenet.tflite import export, metadata
    from keras_shufflenet.tflite.device import benchmark

    recipe = recipes.get("digits")
    if epochs is not None:
        recipe = recipe.replace(epochs=epochs)
    print(f"[1/4] training {recipe.model} on digits for {recipe.epochs} epochs", flush=True)
    result = train.train(
        train.TrainConfig(model_dir=os.path.join(out_dir, "train"), recipe=recipe, verbose=verbose)
    )
    model = result.model

    contract = input_contract.get(model)  # recorded by training: the recipe's size and crop, the labels
    print(f"[2/4] exporting float32 and int8 .tflite; input: {contract.describe()}", flush=True)
    calibration, _ = data.build_dataset("digits", "train", training=False, contract=contract, batch_size=64)
    labels = metadata.ClassifierMetadata(
        labels=contract.labels,
        name="ShuffleNetV2 0.5x digits",
        description="Handwritten digit classifier (keras-shufflenet demo).",
        license="Apache-2.0",
    )
    float_path = export.export_tflite(
        model, os.path.join(out_dir, "model_float32.tflite"), mode="float32", metadata=labels
    )
    int8_path = export.export_tflite(
        model,
        os.path.join(out_dir, "model_int8.tflite"),
        mode="int8",
        representative_images=calibration,
        io_dtype="uint8",
        metadata=labels,
    )

    print("[3/4] evaluating Keras, float32 and int8 on the test split", flush=True)
    test, _ = data.build_dataset("digits", "test", training=False, contract=contract, batch_size=64)
    keras_metrics = evaluate.evaluate_keras(model, test)
    float_metrics = evaluate.evaluate_tflite(float_path, test)
    int8_metrics = evaluate.evaluate_tflite(int8_path, test)
    agreement = float((int8_metrics["predictions"] == float_metrics["predictions"]).mean())

    print("[4/4] benchmarking both files (LiteRT, XNNPACK, 1 thread)", flush=True)
    results = benchmark.benchmark_models(
        [float_path, int8_path],
        settings=[benchmark.Setting(threads=1)],
        config=benchmark.RunConfig(warmup=5, runs=benchmark_runs),
        names=["float32", "int8"],
    )
    latency = {r.name: r.median_ms for r in results}

    summary = {
        "model": recipe.model,
        "epochs": recipe.epochs,
        "train_seconds": round(result.seconds, 1),
        "test_examples": keras_metrics["num_examples"],
        "training_reported_top1": result.metrics["top1"],
        "input_contract": contract.to_dict(),
        "top1": {
            "keras": keras_metrics["top1"],
            "tflite_float32": float_metrics["top1"],
            "tflite_int8": int8_metrics["top1"],
        },
        "int8_top1_agreement_with_float32": agreement,
        "file_bytes": {"float32": os.path.getsize(float_path), "int8": os.path.getsize(int8_path)},
        "median_latency_ms_1_thread": latency,
        "curves": result.plot_path,
        "files": {"keras": result.model_path, "float32": float_path, "int8": int8_path},
    }
    with open(os.path.join(out_dir, "summary.json.tmp"), "w") as f:
        json.dump(summary, f, indent=2)
    os.replace(os.path.join(out_dir, "summary.json.tmp"), os.path.join(out_dir, "summary.json"))
    print(format_summary(summary))
    return summary


def format_summary(s):
    top1, size, ms = s["top1"], s["file_bytes"], s["median_latency_ms_1_thread"]
    return "\n".join(
        [
            "",
            f"Summary: {s['model']} on digits, {s['epochs']} epochs in {s['train_seconds']} s, "
            f"{s['test_examples']} test images",
            f"{'':<16} {'top-1':>7} {'size kB':>9} {'median ms':>10}",
            f"{'Keras':<16} {top1['keras']:>7.2%} {'':>9} {'':>10}  (training reported "
            f"{s['training_reported_top1']:.2%})",
            f"{'tflite float32':<16} {top1['tflite_float32']:>7.2%} {size['float32'] / 1e3:>9.1f} "
            f"{ms['float32']:>10.3f}",
            f"{'tflite int8':<16} {top1['tflite_int8']:>7.2%} {size['int8'] / 1e3:>9.1f} "
            f"{ms['int8']:>10.3f}",
            f"int8 top-1 agrees with float32 on {s['int8_top1_agreement_with_float32']:.1%} of images; "
            f"int8 file is {size['int8'] / size['float32']:.0%} of float32",
            f"curves: {s['curves']}",
        ]
    )


def main(argv):
    del argv
    log = os.path.join(FLAGS.out, "demo.log")
    print(f"TensorFlow's own messages go to {log}", flush=True)
    with tool_output.framework_logs_to(log):
        run_demo(FLAGS.out, epochs=FLAGS.epochs, benchmark_runs=FLAGS.benchmark_runs)


def run():
    flags.DEFINE_string("out", "runs/demo", "Output folder.")
    flags.DEFINE_integer("epochs", None, "Override the digits recipe's epochs.")
    flags.DEFINE_integer("benchmark_runs", 50, "Timed runs per model.")
    app.run(main)


if __name__ == "__main__":
    run()

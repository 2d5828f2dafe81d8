"""Training images/s of ShuffleNet on this CPU: Keras (TF backend, and optionally the
JAX and torch backends) beside PyTorch on the same network, in one run.

    python benchmarks/training_speed.py                       # V2 1.0x, V2 0.5x, V1 1.0x g3
    python benchmarks/training_speed.py --models=v2_0.5 --batch=32 --steps=5
    python benchmarks/training_speed.py --keras_backends=tensorflow,jax,torch

Each configuration runs in its own subprocess (a Keras backend is fixed per process),
one after another, so they share the machine fairly; the table prints images/s and the
ratio to PyTorch. Training step = forward, loss, backward, SGD with momentum 0.9.
"""

import argparse
import json
import os
import subprocess
import sys
import time

MODELS = ("v2_1.0", "v2_0.5", "v1_1.0_g3")

KERAS_WORKER = r"""
import json, sys, time
import numpy as np
import keras
import keras_shufflenet
from keras_shufflenet import flops

cfg = json.loads(sys.argv[1])
family, width, *rest = cfg["model"].split("_")
size = cfg["size"]
if family == "v2":
    model = keras_shufflenet.ShuffleNetV2(float(width), input_shape=(size, size, 3), classifier_activation=None)
else:
    model = keras_shufflenet.ShuffleNetV1(float(width), groups=int(rest[0][1:]), input_shape=(size, size, 3),
                                          classifier_activation=None)
model.compile(
    optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    jit_compile=cfg["jit_compile"],
)
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, size=(cfg["batch"], size, size, 3)).astype("float32")
y = rng.integers(0, 1000, size=(cfg["batch"],)).astype("int32")
for _ in range(cfg["warmup"]):
    model.train_on_batch(x, y)
times = []
for _ in range(cfg["steps"]):
    start = time.perf_counter()
    model.train_on_batch(x, y)
    times.append(time.perf_counter() - start)
step = float(np.median(times))
print(json.dumps({"images_per_s": cfg["batch"] / step, "step_s": step,
                  "mflops": flops.count_flops(model) / 1e6}))
"""

TORCH_WORKER = r"""
import json, sys, time
import numpy as np
import torch
sys.path.insert(0, sys.argv[2])
import torch_shufflenet

cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg["threads"])
model = torch_shufflenet.from_spec(cfg["model"])
model.train()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
loss_fn = torch.nn.CrossEntropyLoss()
size = cfg["size"]
x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (cfg["batch"], 3, size, size)).astype("float32"))
y = torch.from_numpy(np.random.default_rng(1).integers(0, 1000, cfg["batch"]))
def step():
    opt.zero_grad(set_to_none=True)
    loss_fn(model(x), y).backward()
    opt.step()
for _ in range(cfg["warmup"]):
    step()
times = []
for _ in range(cfg["steps"]):
    start = time.perf_counter(); step(); times.append(time.perf_counter() - start)
s = float(np.median(times))
print(json.dumps({"images_per_s": cfg["batch"] / s, "step_s": s}))
"""


def run_worker(script, cfg, env_extra, extra_args=()):
    env = {**os.environ, **env_extra, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(cfg), *extra_args],
        capture_output=True, text=True, env=env, timeout=3600,
    )
    if proc.returncode:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        return {"error": tail[0]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--keras_backends", default="tensorflow",
                        help="comma list of tensorflow, jax, torch")
    parser.add_argument("--xla", action="store_true", help="also time the TF backend with XLA")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    here = os.path.dirname(os.path.abspath(__file__))
    rows = []
    for model in args.models.split(","):
        cfg = {"model": model, "batch": args.batch, "size": args.size, "warmup": args.warmup,
               "steps": args.steps, "threads": args.threads, "jit_compile": False}
        results = {}
        try:
            import torch  # noqa: F401
            results["pytorch"] = run_worker(TORCH_WORKER, cfg, {}, (here,))
        except ImportError:
            results["pytorch"] = {"error": "PyTorch not installed (pip install keras-shufflenet[torch])"}
        for backend in args.keras_backends.split(","):
            results[f"keras-{backend}"] = run_worker(KERAS_WORKER, cfg, {"KERAS_BACKEND": backend})
        if args.xla:
            results["keras-tensorflow-xla"] = run_worker(
                KERAS_WORKER, {**cfg, "jit_compile": True}, {"KERAS_BACKEND": "tensorflow"})
        rows.append((model, results))
        print_table([(model, results)], args, header=len(rows) == 1)
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=2)
        os.replace(args.json + ".tmp", args.json)


def print_table(rows, args, header=True):
    if header:
        print(f"batch {args.batch}, {args.size}x{args.size}, {args.threads} threads, "
              f"median of {args.steps} steps after {args.warmup} warm-up")
        print(f"{'model':<12} {'runner':<22} {'images/s':>9} {'vs PyTorch':>10}")
    for model, results in rows:
        base = results.get("pytorch", {}).get("images_per_s")
        for runner, r in results.items():
            if "error" in r:
                print(f"{model:<12} {runner:<22} {'-':>9} {'':>10}  {r['error']}")
                continue
            ratio = f"{r['images_per_s'] / base:.2f}x" if base else "-"
            print(f"{model:<12} {runner:<22} {r['images_per_s']:>9.1f} {ratio:>10}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

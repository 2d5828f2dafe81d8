"""tf.distribute strategies by name: default, mirrored, multi_worker, tpu.

- "default": one device (TensorFlow's default strategy).
- "mirrored": synchronous data parallelism over this machine's GPUs, or over
  `cpu_replicas` logical CPU devices (for testing on a CPU-only machine).
- "multi_worker": synchronous data parallelism over several machines (or
  processes); each reads its role from the `TF_CONFIG` environment variable,
  e.g. `{"cluster": {"worker": ["host1:2222", "host2:2222"]}, "task": {"type":
  "worker", "index": 0}}`. Every worker runs the same command; worker 0 (the
  chief) writes the model directory, so it must be on a file system all share.
- "tpu": a Cloud TPU, named by `tpu` (its name, `grpc://address`, or "local").

Create the strategy first thing in a program: multi_worker and split CPUs must
configure TensorFlow before it starts.
"""

import json
import os

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def split_cpu(num_replicas):
    """Splits the CPU into `num_replicas` logical devices; returns their names."""
    if not isinstance(num_replicas, int) or num_replicas < 1:
        raise ValueError(f"cpu_replicas must be a positive integer; got {num_replicas!r}.")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * num_replicas
        )
    except RuntimeError as error:
        existing = len(tf.config.list_logical_devices("CPU"))
        if existing != num_replicas:
            raise RuntimeError(
                f"Cannot split the CPU into {num_replicas} devices: TensorFlow already started "
                f"with {existing}. Create the strategy before any other TensorFlow work."
            ) from error
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def make_strategy(name="default", *, tpu=None, cpu_replicas=None):
    """The `tf.distribute.Strategy` called `name` (one of `STRATEGIES`)."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; choose one of {STRATEGIES}.")
    if cpu_replicas is not None and name != "mirrored":
        raise ValueError(f"cpu_replicas is for the mirrored strategy; got strategy={name!r}.")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if cpu_replicas is None and tf.config.list_physical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        devices = split_cpu(cpu_replicas) if cpu_replicas is not None else ["/cpu:0"]
        # Between CPU devices, collective all-reduces issued by the model (synchronized
        # BatchNorm) and by the optimizer can pair up out of order; reducing on one
        # device keeps them exact.
        return tf.distribute.MirroredStrategy(
            devices=devices, cross_device_ops=tf.distribute.ReductionToOneDevice()
        )
    if name == "multi_worker":
        config = os.environ.get("TF_CONFIG")
        try:
            cluster = json.loads(config)["cluster"] if config else None
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"TF_CONFIG is not valid cluster JSON: {config!r}") from error
        if not cluster:
            raise ValueError(
                "strategy=multi_worker needs the TF_CONFIG environment variable, e.g. "
                '{"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
                '"task": {"type": "worker", "index": 0}}.'
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    if not tpu:
        raise ValueError("strategy=tpu needs tpu=<TPU name, grpc://address or 'local'>.")
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    if tpu != "local":
        tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy):
    """Whether this process writes checkpoints, logs and the final model."""
    return bool(getattr(strategy.extended, "should_checkpoint", True))

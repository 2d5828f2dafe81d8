"""keras-shufflenet: ShuffleNet V1/V2 for Keras 3, tf.data training, int8 TFLite export
and an on-device benchmark tool.

The repository keeps `pipelines/` and `tflite/` at the top level; they install as
`keras_shufflenet.pipelines` and `keras_shufflenet.tflite`, because `tflite` and
`pipelines` are other projects' names on PyPI.
"""

from setuptools import setup

CORE = [
    "keras>=3.10",
    "numpy",
    "h5py",
]
TRAINING = [
    "tensorflow==2.21.*",
    "tensorflow-datasets>=4.9",
    "tensorflow-model-optimization>=0.8",
    "absl-py",
    "tensorboard",  # Keras' TensorBoard callback (TensorFlow 2.21 no longer pulls it in)
    "scikit-learn",  # ships the offline default data set (handwritten digits)
    "matplotlib",
    "pillow",
    "ai-edge-litert>=2.1",
    "flatbuffers",
]
TEST = [
    "pytest>=8",
    "pytest-timeout",
    "pytest-xdist",  # the suite runs on two workers (scripts/run_tests.sh)
    "jax[cpu]",
    "nbclient",
    "nbformat",
    "ipykernel",
]

setup(
    name="keras-shufflenet",
    version="0.1.0",
    description="ShuffleNet V1 and V2 for Keras 3: train, quantize to int8 TFLite, benchmark.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=[
        "keras_shufflenet",
        "keras_shufflenet.pipelines",
        "keras_shufflenet.tflite",
        "keras_shufflenet.tflite.device",
    ],
    package_dir={
        "keras_shufflenet": "keras_shufflenet",
        "keras_shufflenet.pipelines": "pipelines",
        "keras_shufflenet.tflite": "tflite",
        "keras_shufflenet.tflite.device": "tflite/device",
    },
    package_data={"keras_shufflenet": ["data/*"]},
    install_requires=CORE,
    extras_require={
        "train": TRAINING,
        "test": TRAINING + TEST,
        # A CPU build of PyTorch, used only by the tests that prove weight parity.
        "torch": ["torch>=2.6"],
        # The on-device benchmark needs only these two.
        "runtime": ["numpy", "ai-edge-litert>=2.1"],
    },
    entry_points={
        "console_scripts": [
            "shufflenet-flops=keras_shufflenet.flops:main",
        ]
    },
)

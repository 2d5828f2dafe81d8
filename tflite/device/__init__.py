"""What runs on the device: the benchmark tool and what it is made of.

Everything here imports only the standard library, numpy and the LiteRT runtime
(`ai-edge-litert`, or `tflite-runtime`), plus Pillow and matplotlib when present;
never Keras or TensorFlow (`tests/test_tflite_layout.py` reads every import). The
files also run copied into one bare folder (`benchmark.STANDALONE_FILES`).

    python -m keras_shufflenet.tflite.benchmark a.tflite b.tflite --threads=1,2
"""

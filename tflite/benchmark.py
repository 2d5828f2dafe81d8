"""The public command of the on-device benchmark tool, which lives in `tflite/device/`:

    python -m keras_shufflenet.tflite.benchmark a.tflite b.tflite --threads=1,2

Forwards to `keras_shufflenet.tflite.device.benchmark` (see its docstring for the flags).
"""

import sys

from keras_shufflenet.tflite.device.benchmark import *  # noqa: F401,F403 (the tool's public API)
from keras_shufflenet.tflite.device.benchmark import main

if __name__ == "__main__":
    sys.exit(main())

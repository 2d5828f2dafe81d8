"""A model's input contract: what an image must go through before the model sees it.

    from keras_shufflenet import input_contract
    contract = input_contract.read("runs/digits/model.keras")   # or a .tflite, or None
    print(contract.describe())

Decided once, where a model is trained or built (the training recipe, the
published weights' evaluation transform), it travels with the model (inside
`model.keras` and the `.tflite`), and every later step reads it. The module
itself is `keras_shufflenet.tflite.device.input_contract` (standard library
only, so the on-device benchmark tool reads it too); its docstring is the
manual: the fields, the resize-and-crop rule, and where it is stored and why.
"""

from keras_shufflenet.tflite.device.input_contract import *  # noqa: F401,F403
from keras_shufflenet.tflite.device.input_contract import __all__  # noqa: F401

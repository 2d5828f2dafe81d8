"""TFLite export (float32, float16, dynamic-range, int8; quantization-aware training in
`qat`), metadata and the on-device benchmark tool.

Importing this package needs nothing beyond the standard library: the benchmark tool
runs on devices that have only numpy and the LiteRT runtime.
"""

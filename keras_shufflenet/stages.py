"""The stage tables of ShuffleNet V1 and V2: how many units each stage has and
how wide it is.

A leaf module (it imports nothing), read by the builders (`shufflenet_v1`,
`shufflenet_v2`) and by the weight converters, so that neither side imports
the other.
"""

# --- ShuffleNet V2 (paper Table 5; torchvision's `shufflenet_v2_x*`) ----------
V2_STAGE_REPEATS = (4, 8, 4)
# width -> (stem, stage2, stage3, stage4, conv5) channels.
V2_STAGE_CHANNELS = {
    0.5: (24, 48, 96, 192, 1024),
    1.0: (24, 116, 232, 464, 1024),
    1.5: (24, 176, 352, 704, 1024),
    2.0: (24, 244, 488, 976, 2048),
}

# --- ShuffleNet V1 (paper Table 1) ----------------------------------------------
V1_STAGE_REPEATS = (4, 8, 4)
V1_GROUPS = (1, 2, 3, 4, 8)
V1_WIDTHS = (0.25, 0.5, 1.0, 1.5, 2.0)
# Stage-2 channels at 1x for each group count (stages 3, 4 double).
V1_STAGE2_CHANNELS_1X = {1: 144, 2: 200, 3: 240, 4: 272, 8: 384}
# The stem is not scaled below 0.5x nor between 1x and 1.5x (megvii's lists).
V1_STEM_CHANNELS = {0.25: 12, 0.5: 12, 1.0: 24, 1.5: 24, 2.0: 48}
# megvii-model/ShuffleNet-Series' released models (ShuffleNetV1/network.py):
# (groups, width) -> (stem, stage2, stage3, stage4).
V1_OFFICIAL_CHANNELS = {
    (3, 0.5): (12, 120, 240, 480),
    (3, 1.0): (24, 240, 480, 960),
    (3, 1.5): (24, 360, 720, 1440),
    (3, 2.0): (48, 480, 960, 1920),
    (8, 0.5): (16, 192, 384, 768),
    (8, 1.0): (24, 384, 768, 1536),
    (8, 1.5): (24, 576, 1152, 2304),
    (8, 2.0): (48, 768, 1536, 3072),
}


def v1_stage_channels(groups, width):
    """(stem, stage2, stage3, stage4) channels of ShuffleNet V1 for `groups` and `width`.

    The official lists where they exist; otherwise the paper's 1x stage
    channels are scaled by `width` and rounded to the nearest multiple of
    `groups`, and the stem down to one, so every grouped convolution divides
    evenly.
    """
    if (groups, width) in V1_OFFICIAL_CHANNELS:
        return V1_OFFICIAL_CHANNELS[(groups, width)]
    stem = max(groups, V1_STEM_CHANNELS[width] // groups * groups)
    stage2 = round_to_multiple(V1_STAGE2_CHANNELS_1X[groups] * width, groups)
    return (stem, stage2, 2 * stage2, 4 * stage2)


def v1_bottleneck_channels(out_channels, groups):
    """A quarter of a V1 unit's output (paper Sec. 3.2), kept a multiple of `groups`."""
    return round_to_multiple(out_channels / 4, groups)


def round_to_multiple(value, multiple):
    return max(multiple, int(value / multiple + 0.5) * multiple)

"""An independent PyTorch ShuffleNet V2, laid out as torchvision's
`torchvision/models/shufflenetv2.py` (its state-dict keys are torchvision's), so
tests can prove that converted weights give the same numbers in Keras.

torchvision itself is not a dependency (it does not install beside every
torch); this file follows its architecture: Conv1 3x3 s2 + BN + ReLU, MaxPool
3x3 s2 pad 1, stages of `InvertedResidual` units (branch1 on stride 2 only,
channel split on stride 1, concat, channel shuffle of 2 groups), Conv5 1x1 +
BN + ReLU, global mean, Linear. Imported only by tests, and only where torch is.
"""

import torch
from torch import nn

STAGE_REPEATS = (4, 8, 4)
# width -> (stem, stage2, stage3, stage4, conv5) channels.
STAGE_CHANNELS = {
    0.5: (24, 48, 96, 192, 1024),
    1.0: (24, 116, 232, 464, 1024),
    1.5: (24, 176, 352, 704, 1024),
    2.0: (24, 244, 488, 976, 2048),
}


def channel_shuffle(x, groups):
    batch, channels, height, width = x.shape
    x = x.view(batch, groups, channels // groups, height, width)
    return torch.transpose(x, 1, 2).contiguous().view(batch, channels, height, width)


def depthwise_conv(channels, stride):
    return nn.Conv2d(channels, channels, 3, stride, 1, bias=False, groups=channels)


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride):
        super().__init__()
        self.stride = stride
        branch = oup // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                depthwise_conv(inp, stride),
                nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch, 1, 1, 0, bias=False),
                nn.BatchNorm2d(branch),
                nn.ReLU(inplace=True),
            )
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else branch, branch, 1, 1, 0, bias=False),
            nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True),
            depthwise_conv(branch, stride),
            nn.BatchNorm2d(branch),
            nn.Conv2d(branch, branch, 1, 1, 0, bias=False),
            nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, width=1.0, num_classes=1000):
        super().__init__()
        stem, *stages, last = STAGE_CHANNELS[width]
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU(inplace=True)
        )
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels = stem
        for index, (repeats, out) in enumerate(zip(STAGE_REPEATS, stages), start=2):
            units = [InvertedResidual(channels, out, 2)]
            units += [InvertedResidual(out, out, 1) for _ in range(repeats - 1)]
            setattr(self, f"stage{index}", nn.Sequential(*units))
            channels = out
        self.conv5 = nn.Sequential(
            nn.Conv2d(channels, last, 1, 1, 0, bias=False), nn.BatchNorm2d(last), nn.ReLU(inplace=True)
        )
        self.fc = nn.Linear(last, num_classes)

    def features(self, x):
        """The `conv5` output (NCHW): what Keras gives with include_top=False."""
        x = self.maxpool(self.conv1(x))
        return self.conv5(self.stage4(self.stage3(self.stage2(x))))

    def forward(self, x):
        return self.fc(self.features(x).mean([2, 3]))


def randomize(model, seed=0, image_size=64, input_range=(-2.0, 2.0)):
    """Random weights and data-calibrated BatchNorm statistics, then eval mode.

    Left at their defaults (mean 0, variance 1) the statistics would hide a
    mix-up of BatchNorm tensors, and arbitrary ones make activations explode
    over 50 layers. So, like a trained network, every BatchNorm gets a random
    scale and shift and the mean and variance its input really has: one
    training-mode pass over random images (values uniform in `input_range`)
    with a cumulative average.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator))
                module.weight.mul_((2.0 / fan_in) ** 0.5)
            elif isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(0.5 + torch.rand(n, generator=generator))
                module.bias.copy_(0.2 * torch.randn(n, generator=generator))
                module.reset_running_stats()
                module.momentum = None  # cumulative average: one pass sets the statistics
            elif isinstance(module, nn.Linear):
                module.weight.copy_(0.05 * torch.randn(module.weight.shape, generator=generator))
                if module.bias is not None:
                    module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
        model.train()
        low, high = input_range
        images = torch.rand((8, 3, image_size, image_size), generator=generator)
        model(images * (high - low) + low)
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.momentum = 0.1
    return model.eval()


# --- OpenMMLab mmpretrain's ShuffleNet V1 (state-dict keys as mmpretrain's) ----
# Follows mmpretrain/models/backbones/shufflenet_v1.py: ConvModule = conv
# (no bias) + bn (+ ReLU); the unit shuffles after the depthwise conv, and a
# stride-2 unit applies its ReLU to the branch before the concat.
V1_STAGE_CHANNELS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960),
                     4: (272, 544, 1088), 8: (384, 768, 1536)}  # fmt: skip


class ConvModule(nn.Module):
    def __init__(self, inp, oup, kernel, stride=1, padding=0, groups=1, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(inp, oup, kernel, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(oup)
        self.relu = relu

    def forward(self, x):
        x = self.bn(self.conv(x))
        return torch.relu(x) if self.relu else x


class ShuffleUnit(nn.Module):
    def __init__(self, inp, oup, groups, first_block, concat):
        super().__init__()
        self.groups, self.concat = groups, concat
        bottleneck = oup // 4
        if concat:
            oup -= inp
            self.avgpool = nn.AvgPool2d(3, 2, 1)
        self.g_conv_1x1_compress = ConvModule(inp, bottleneck, 1, groups=1 if first_block else groups)
        self.depthwise_conv3x3_bn = ConvModule(
            bottleneck, bottleneck, 3, 2 if concat else 1, 1, groups=bottleneck, relu=False
        )
        self.g_conv_1x1_expand = ConvModule(bottleneck, oup, 1, groups=groups, relu=False)

    def forward(self, x):
        out = self.depthwise_conv3x3_bn(self.g_conv_1x1_compress(x))
        if self.groups > 1:
            out = channel_shuffle(out, self.groups)
        out = self.g_conv_1x1_expand(out)
        if self.concat:
            return torch.cat((self.avgpool(x), torch.relu(out)), 1)
        return torch.relu(x + out)


class ShuffleNetV1Backbone(nn.Module):
    def __init__(self, groups=3):
        super().__init__()
        self.conv1 = ConvModule(3, 24, 3, 2, 1)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layers = nn.ModuleList()
        channels = 24
        for index, (repeats, out) in enumerate(zip(STAGE_REPEATS, V1_STAGE_CHANNELS[groups])):
            units = [
                ShuffleUnit(channels if unit == 0 else out, out, groups, index == 0 and unit == 0,
                            concat=unit == 0)
                for unit in range(repeats)
            ]  # fmt: skip
            self.layers.append(nn.Sequential(*units))
            channels = out

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        for layer in self.layers:
            x = layer(x)
        return x


class LinearClsHead(nn.Module):
    def __init__(self, channels, num_classes):
        super().__init__()
        self.fc = nn.Linear(channels, num_classes)


class MMPretrainShuffleNetV1(nn.Module):
    """ImageClassifier(backbone=ShuffleNetV1 1.0x, neck=GlobalAveragePooling, head=LinearClsHead)."""

    def __init__(self, groups=3, num_classes=1000):
        super().__init__()
        self.backbone = ShuffleNetV1Backbone(groups)
        self.head = LinearClsHead(V1_STAGE_CHANNELS[groups][-1], num_classes)

    def features(self, x):
        return self.backbone(x)

    def forward(self, x):
        return self.head.fc(self.features(x).mean([2, 3]))


# --- The V1 authors' network (megvii-model/ShuffleNet-Series, ShuffleNetV1/) ----
# Written from their network.py and blocks.py, module for module, so the
# state-dict keys are theirs: `first_conv` (conv, BN, ReLU), `maxpool`,
# `features` (all 16 units in one Sequential), `globalpool`, `classifier`.
# A unit is `branch_main_1` (1x1 conv grouped except in the very first unit,
# BN, ReLU, depthwise 3x3, BN), then the channel shuffle *in their order*,
# then `branch_main_2` (grouped 1x1, BN); stride 1 returns relu(x + branch),
# stride 2 cat(avgpool3x3s2(x), relu(branch)). Every unit's middle width is
# its stage's output // 4. The classifier has no bias. The input is BGR pixels
# in 0..255. Their AvgPool2d(7) is the global mean at 224x224; here the kernel
# is input_size // 32 so that small test images pool globally as well.
MEGVII_V1_CHANNELS = {  # (groups, model_size) -> (stem, stage2, stage3, stage4)
    (3, "0.5x"): (12, 120, 240, 480), (3, "1.0x"): (24, 240, 480, 960),
    (3, "1.5x"): (24, 360, 720, 1440), (3, "2.0x"): (48, 480, 960, 1920),
    (8, "0.5x"): (16, 192, 384, 768), (8, "1.0x"): (24, 384, 768, 1536),
    (8, "1.5x"): (24, 576, 1152, 2304), (8, "2.0x"): (48, 768, 1536, 3072),
}  # fmt: skip


def megvii_channel_shuffle(x, groups):
    """Their order: channels viewed as (channels per group, groups), transposed."""
    batch, channels, height, width = x.shape
    x = x.reshape(batch, channels // groups, groups, height, width).permute(0, 2, 1, 3, 4)
    return x.reshape(batch, channels, height, width)


class ShuffleV1Block(nn.Module):
    def __init__(self, inp, oup, *, group, first_group, mid_channels, stride):
        super().__init__()
        self.stride, self.group = stride, group
        outputs = oup - inp if stride == 2 else oup
        self.branch_main_1 = nn.Sequential(
            nn.Conv2d(inp, mid_channels, 1, 1, 0, groups=1 if first_group else group, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, mid_channels, 3, stride, 1, groups=mid_channels, bias=False),
            nn.BatchNorm2d(mid_channels),
        )
        self.branch_main_2 = nn.Sequential(
            nn.Conv2d(mid_channels, outputs, 1, 1, 0, groups=group, bias=False),
            nn.BatchNorm2d(outputs),
        )
        if stride == 2:
            self.branch_proj = nn.AvgPool2d(kernel_size=3, stride=2, padding=1)

    def forward(self, x):
        y = self.branch_main_1(x)
        if self.group > 1:
            y = megvii_channel_shuffle(y, self.group)
        y = self.branch_main_2(y)
        if self.stride == 1:
            return torch.relu(y + x)
        return torch.cat((self.branch_proj(x), torch.relu(y)), 1)


class MegviiShuffleNetV1(nn.Module):
    def __init__(self, input_size=224, n_class=1000, model_size="2.0x", group=3):
        super().__init__()
        stem, *stages = MEGVII_V1_CHANNELS[(group, model_size)]
        self.first_conv = nn.Sequential(
            nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU(inplace=True)
        )
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        units, channels = [], stem
        for index, (repeats, out) in enumerate(zip(STAGE_REPEATS, stages)):
            for unit in range(repeats):
                units.append(
                    ShuffleV1Block(channels, out, group=group, first_group=index == 0 and unit == 0,
                                   mid_channels=out // 4, stride=2 if unit == 0 else 1)
                )  # fmt: skip
                channels = out
        self.features = nn.Sequential(*units)
        self.globalpool = nn.AvgPool2d(input_size // 32)
        self.classifier = nn.Sequential(nn.Linear(channels, n_class, bias=False))
        self.last_channels = channels

    def feature_map(self, x):
        """The last stage's output (NCHW): what Keras gives with include_top=False."""
        return self.features(self.maxpool(self.first_conv(x)))

    def forward(self, x):
        x = self.globalpool(self.feature_map(x))
        return self.classifier(x.contiguous().view(-1, self.last_channels))

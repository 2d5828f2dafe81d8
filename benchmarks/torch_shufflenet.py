"""ShuffleNet V1 and V2 in plain PyTorch, for speed comparisons only.

V2 is torchvision's `shufflenetv2.py` layout (same modules, same state-dict keys);
V1 is megvii's official unit. PyTorch is an optional extra: nothing in the library
imports this file.
"""

import torch
from torch import nn

V2_CHANNELS = {
    0.5: (24, 48, 96, 192, 1024),
    1.0: (24, 116, 232, 464, 1024),
    1.5: (24, 176, 352, 704, 1024),
    2.0: (24, 244, 488, 976, 2048),
}
V1_CHANNELS = {3: (24, 240, 480, 960), 8: (24, 384, 768, 1536)}


def channel_shuffle(x, groups):
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


def conv_bn(cin, cout, k=1, stride=1, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return layers


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride):
        super().__init__()
        self.stride = stride
        branch = oup // 2
        if stride > 1:
            self.branch1 = nn.Sequential(*conv_bn(inp, inp, 3, stride, groups=inp, relu=False),
                                         *conv_bn(inp, branch))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            *conv_bn(inp if stride > 1 else branch, branch),
            *conv_bn(branch, branch, 3, stride, groups=branch, relu=False),
            *conv_bn(branch, branch),
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
        stem, *stages, last = V2_CHANNELS[width]
        self.conv1 = nn.Sequential(*conv_bn(3, stem, 3, 2))
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = stem
        for name, repeats, cout in zip(("stage2", "stage3", "stage4"), (4, 8, 4), stages):
            units = [InvertedResidual(cin, cout, 2)] + [InvertedResidual(cout, cout, 1) for _ in range(repeats - 1)]
            setattr(self, name, nn.Sequential(*units))
            cin = cout
        self.conv5 = nn.Sequential(*conv_bn(cin, last))
        self.fc = nn.Linear(last, num_classes)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))


class ShuffleV1Unit(nn.Module):
    def __init__(self, inp, oup, groups, first_group, stride):
        super().__init__()
        self.stride, self.groups = stride, groups
        mid = oup // 4
        out = oup - inp if stride == 2 else oup
        self.branch_main_1 = nn.Sequential(
            *conv_bn(inp, mid, groups=1 if first_group else groups),
            *conv_bn(mid, mid, 3, stride, groups=mid, relu=False),
        )
        self.branch_main_2 = nn.Sequential(*conv_bn(mid, out, groups=groups, relu=False))
        self.proj = nn.AvgPool2d(3, 2, 1) if stride == 2 else None

    def forward(self, x):
        y = self.branch_main_1(x)
        if self.groups > 1:
            y = channel_shuffle(y, self.groups)
        y = self.branch_main_2(y)
        if self.stride == 1:
            return torch.relu(x + y)
        return torch.relu(torch.cat((self.proj(x), y), 1))


class ShuffleNetV1(nn.Module):
    def __init__(self, width=1.0, groups=3, num_classes=1000):
        super().__init__()
        if width != 1.0 or groups not in V1_CHANNELS:
            raise ValueError("this comparison model covers V1 1.0x with groups 3 or 8")
        stem, *stages = V1_CHANNELS[groups]
        self.conv1 = nn.Sequential(*conv_bn(3, stem, 3, 2))
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        units, cin = [], stem
        for s, (repeats, cout) in enumerate(zip((4, 8, 4), stages)):
            for i in range(repeats):
                units.append(ShuffleV1Unit(cin, cout, groups, first_group=(s == 0 and i == 0),
                                           stride=2 if i == 0 else 1))
                cin = cout
        self.features = nn.Sequential(*units)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.features(self.maxpool(self.conv1(x)))
        return self.fc(x.mean([2, 3]))


def shufflenet_v2(width=1.0, num_classes=1000):
    return ShuffleNetV2(width, num_classes)


def shufflenet_v1(width=1.0, groups=3, num_classes=1000):
    return ShuffleNetV1(width, groups, num_classes)

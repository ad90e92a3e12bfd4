"""The engine's architectures in PyTorch, with the engine's parameter names and order.

Written for the golden cases and the speed comparison: every model here has exactly the
`state_dict` names, shapes and order that the engine's `Model` gives the same architecture, so a
case can be checked tensor by tensor. What the models are is described in docs/semantics.md §3.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ResidualBlock(nn.Module):
    """Two 3x3 convs (no bias) with BN; a 1x1 conv + BN projection when the shape changes."""

    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        projected = stride != 1 or inputs != outputs
        # An empty Sequential when the shortcut is the identity keeps PyTorch's names
        # (`shortcut.0`, `shortcut.1`) where the projection exists.
        self.shortcut = nn.Sequential(
            nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False), nn.BatchNorm2d(outputs)) if projected else nn.Sequential()

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet(nn.Module):
    """7x7/2 stem (64 channels) -> BN -> ReLU -> 3x3/2 max-pool (padding 1), then stages of
    residual blocks with 64, 128, 256, 512 channels (stride 1 first, 2 after), global average
    pool, linear classifier."""

    WIDTHS = (64, 128, 256, 512)

    def __init__(self, blocks_per_stage, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        stages, channels = [], 64
        for stage, blocks in enumerate(blocks_per_stage):
            width = self.WIDTHS[stage]
            members = []
            for block in range(blocks):
                members.append(ResidualBlock(channels, width, 2 if stage > 0 and block == 0 else 1))
                channels = width
            stages.append(nn.Sequential(*members))
        self.layers = nn.Sequential(*stages)
        self.classifier = nn.Linear(channels, classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layers(x)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# The authors' VGG configurations: channel counts, None a 2x2 max-pool. 'A' has five convs.
VGG_CONFIGS = {
    11: [64, None, 128, None, 256, None, 512, None, 512, None],
    13: [64, 64, None, 128, 128, None, 256, 256, None, 512, 512, None, 512, 512, None],
    16: [64, 64, None, 128, 128, None, 256, 256, 256, None, 512, 512, 512, None, 512, 512, 512, None],
}


class VGG(nn.Module):
    """3x3 convs with bias -> BN -> ReLU, 2x2 max-pools, then one linear layer on the flattened
    map (512 features for 32x32 inputs, 512*h*w for larger ones)."""

    def __init__(self, depth, classes, height=32, width=32):
        super().__init__()
        modules, channels = [], 3
        for entry in VGG_CONFIGS[depth]:
            if entry is None:
                modules.append(nn.MaxPool2d(2, 2))
                height, width = height // 2, width // 2
            else:
                modules += [nn.Conv2d(channels, entry, 3, padding=1), nn.BatchNorm2d(entry), nn.ReLU()]
                channels = entry
        self.features = nn.Sequential(*modules)
        self.classifier = nn.Sequential(nn.Linear(channels * height * width, classes))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class SmallCNN(nn.Module):
    """The engine's `cnn`: two (3x3 conv without bias -> BN -> ReLU -> 2x2 max-pool) stages of
    32 and 64 channels, global average pool, linear classifier."""

    def __init__(self, classes):
        super().__init__()
        stages, channels = [], 3
        for width in (32, 64):
            stage = nn.Module()
            stage.conv = nn.Conv2d(channels, width, 3, padding=1, bias=False)
            stage.bn = nn.BatchNorm2d(width)
            stages.append(stage)
            channels = width
        self.features = nn.ModuleList(stages)
        self.classifier = nn.Linear(channels, classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        for stage in self.features:
            x = F.max_pool2d(F.relu(stage.bn(stage.conv(x))), 2, 2)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


RESNET_BLOCKS = {"resnet4": [1], "resnet6": [1, 1], "resnet8": [1, 1, 1], "resnet10": [1, 1, 1, 1], "resnet18": [2, 2, 2, 2]}


def build(name, classes, height=32, width=32):
    """The architecture `name` (the engine's names: resnet4..18, vgg11bn/13bn/16bn, cnn)."""
    key = name.lower().replace("_", "").replace("-", "")
    if key in RESNET_BLOCKS:
        return ResNet(RESNET_BLOCKS[key], classes)
    if key in ("vgg11bn", "vgg13bn", "vgg16bn"):
        return VGG(int(key[3:5]), classes, height, width)
    if key == "cnn":
        return SmallCNN(classes)
    raise ValueError(f"unknown model {name!r}")

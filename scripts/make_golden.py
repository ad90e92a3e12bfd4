#!/usr/bin/env python3
"""Writes golden cases in ../shared/golden's format (README there) with PyTorch in float64.

For checking that the golden test is general: other shapes, class counts and depths than the
shipped cases. Usage (needs torch; see ../shared/peers/README.md for the CPU build):

    python3 scripts/make_golden.py OUT_DIR

Writes model cases (ResNet-6 with 100 classes, ResNet-10 on 3x64x64 with 200 classes, ResNet-4,
VGG-11-bn on 64x64) and layer cases with other geometries. Then:

    LIPS_GOLDEN_DIR=OUT_DIR make golden
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'peers'))
from torch_fl import ResNet, VGG, VGG_A  # noqa: E402  (the peer's faithful architectures)

torch.set_default_dtype(torch.float64)


def write_case(out, name, op, attrs, tensors, rtol=1e-4, atol=1e-5):
    manifest = {"op": op, "attrs": attrs, "tolerance": {"rtol": rtol, "atol": atol}, "tensors": {}, "bin": name + ".bin"}
    offset, blobs = 0, []
    for key, value in tensors.items():
        t = value.detach().to(torch.float32).contiguous()
        manifest["tensors"][key] = {"shape": list(t.shape), "offset": offset, "count": t.numel()}
        offset += t.numel()
        blobs.append(t.numpy().astype('<f4').tobytes())
    manifest["floats"] = offset
    with open(os.path.join(out, name + ".bin"), "wb") as f:
        f.write(b"".join(blobs))
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(manifest, f, indent=1)


def model_case(out, name, model, x, labels, classes, steps=3, lr=0.1, momentum=0.9):
    model = model.double().train()
    tensors = {"x": x, "labels": labels.double()}
    params = [n for n, _ in model.named_parameters()]
    buffers = [n for n, _ in model.named_buffers() if not n.endswith("num_batches_tracked")]
    state = dict(model.named_parameters())
    bufs = dict(model.named_buffers())
    for n in params:
        tensors["param:" + n] = state[n].detach().clone()
    for n in buffers:
        tensors["buffer:" + n] = bufs[n].detach().clone()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    for step in range(steps):
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        if step == 0:
            tensors["logits"] = logits.detach().clone()
            tensors["loss"] = loss.detach().reshape(1)
            for n in params:
                tensors["grad:" + n] = state[n].grad.detach().clone()
        opt.step()
    for n in params:
        tensors["final_param:" + n] = state[n].detach().clone()
    for n in buffers:
        tensors["final_buffer:" + n] = bufs[n].detach().clone()
    model.eval()
    with torch.no_grad():
        tensors["eval_logits"] = model(x)
    attrs = {"steps": steps, "lr": lr, "momentum": momentum, "classes": classes, "bn_eps": 1e-5, "bn_momentum": 0.1,
             "params": params, "buffers": buffers}
    write_case(out, name, "model", attrs, tensors, rtol=2e-3, atol=2e-4)


def conv_case(out, name, n, cin, cout, h, w, k, s, p, bias):
    x = torch.randn(n, cin, h, w, requires_grad=True)
    conv = nn.Conv2d(cin, cout, k, stride=s, padding=p, bias=bias)
    y = conv(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    tensors = {"x": x, "w": conv.weight, "y": y, "dy": dy, "dx": x.grad, "dw": conv.weight.grad}
    if bias:
        tensors["b"] = conv.bias
        tensors["db"] = conv.bias.grad
    write_case(out, name, "conv2d", {"kernel": k, "stride": s, "padding": p, "bias": bias}, tensors)


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    model_case(out, "model_resnet6_cifar100", ResNet([1, 1], class_number=100),
               torch.rand(3, 3, 32, 32), torch.randint(0, 100, (3,)), 100)
    model_case(out, "model_resnet10_tinyimagenet", ResNet([1, 1, 1, 1], class_number=200),
               torch.rand(2, 3, 64, 64), torch.randint(0, 200, (2,)), 200)
    model_case(out, "model_resnet4_small", ResNet([1], class_number=7),
               torch.rand(5, 3, 20, 24), torch.randint(0, 7, (5,)), 7)
    conv_case(out, "conv_k5s3p2_bias", 3, 2, 4, 11, 9, 5, 3, 2, True)
    conv_case(out, "conv_k1s1p0", 2, 6, 3, 5, 7, 1, 1, 0, False)
    x = torch.randn(3, 4, 9, 7, requires_grad=True)
    y = F.max_pool2d(x, 3, 2, 1)
    dy = torch.randn_like(y)
    y.backward(dy)
    write_case(out, "maxpool_k3s2p1_odd", "maxpool2d", {"kernel": 3, "stride": 2, "padding": 1},
               {"x": x, "y": y, "dy": dy, "dx": x.grad})
    print("wrote", len([f for f in os.listdir(out) if f.endswith('.json')]), "cases to", out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "golden-extra")

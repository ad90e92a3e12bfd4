#!/usr/bin/env python3
"""Writes the golden cases: PyTorch references for every layer, the LIPS mask, SGD, whole models
and whole federations (golden_federation.py).

Usage (the environment from reference/requirements.txt; `make golden-cases` does all of it):

    python3 reference/make_golden.py [OUT_DIR]      # default: Tests/Golden

Each case is computed in float64 from float32 inputs, then again in float32 from the same inputs;
the manifest records the float32 run's worst error against the float64 reference (`float32_error`,
in units of the case's tolerance), so the golden test can say how the engine's error compares
with PyTorch's own. The format is described in Tests/Golden/README.md.
"""
import json
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402

LAYER_TOLERANCE = (1e-4, 1e-5)   # (rtol, atol)
MODEL_TOLERANCE = (2e-3, 2e-4)
# Large tensors of model cases (gradients, final weights) are stored as every k-th element, at
# most this many, to keep the folder small; the other elements are checked through the logits.
MAX_SAMPLES = 4096

GAMMA = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1


def splitmix_uniform(seed, count):
    """count values in [-1, 1), each a multiple of 2^-23: element i mixes seed + (i + 1)·GAMMA
    with SplitMix64's finaliser and keeps the top 24 bits. Tests/LIPSTests/Support/GoldenCase.swift
    has the same generator."""
    with np.errstate(over="ignore"):
        z = (np.uint64(seed & MASK64) + (np.arange(1, count + 1, dtype=np.uint64) * np.uint64(GAMMA)))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    top = (z >> np.uint64(40)).astype(np.int64) - (1 << 23)
    return top.astype(np.float64) / float(1 << 23)


def generated(shape, seed, offset, scale):
    """A generated tensor: float32(offset + scale·u), scale a power of two so the product is exact."""
    values = (offset + scale * splitmix_uniform(seed, int(np.prod(shape)))).astype(np.float32)
    return torch.from_numpy(values.astype(np.float64).reshape(shape))


def power_of_two_below(x):
    return float(2.0 ** np.floor(np.log2(x)))


def as_float32_exact(t):
    """t rounded to float32 and back: the inputs both runs (and the engine) start from."""
    return t.detach().to(torch.float32).to(torch.float64)


class Case:
    def __init__(self, name, op, attrs, tolerance):
        self.name, self.op, self.attrs = name, op, attrs
        self.rtol, self.atol = tolerance
        self.stored = {}       # key -> (float64 tensor, stride)
        self.generated = {}    # key -> (shape, {seed, offset, scale})
        self.checked = {}      # key -> float64 reference that the float32 run is compared on
        self.bits = {}         # key -> (shape, bits per float) of a 0/1 tensor stored packed

    def store(self, key, tensor, stride=1):
        self.stored[key] = (tensor.detach().to(torch.float64).contiguous(), stride)

    def result(self, key, tensor, sample=False):
        """A reference output: stored (sampled when large and `sample`) and compared with float32."""
        n = tensor.numel()
        stride = -(-n // MAX_SAMPLES) if sample and n > MAX_SAMPLES else 1
        self.store(key, tensor, stride)
        self.checked[key] = stride

    def float32_error(self, float32_results):
        worst = 0.0
        for key, stride in self.checked.items():
            want = self.stored[key][0].reshape(-1)[::stride]
            got = float32_results[key].detach().to(torch.float64).reshape(-1)[::stride]
            # Compare what the engine is compared on: the reference as stored (float32).
            want = want.to(torch.float32).to(torch.float64)
            ratio = ((got - want).abs() / (self.atol + self.rtol * want.abs())).max().item() if want.numel() else 0.0
            worst = max(worst, ratio)
        return worst

    def write(self, out, float32_results):
        tensors, blobs, offset = {}, [], 0
        for key, (shape, spec) in self.generated.items():
            tensors[key] = {"shape": list(shape), "generate": spec}
        for key, (t, stride) in self.stored.items():
            flat = t.reshape(-1)[::stride].to(torch.float32).numpy().astype("<f4")
            entry = {"shape": list(t.shape), "offset": offset, "count": int(flat.size)}
            if stride > 1:
                entry["stride"] = stride
            if key in self.bits:
                entry["shape"], entry["bits"] = self.bits[key]
            tensors[key] = entry
            offset += flat.size
            blobs.append(flat.tobytes())
        manifest = {"op": self.op, "attrs": self.attrs, "tolerance": {"rtol": self.rtol, "atol": self.atol},
                    "float32_error": round(self.float32_error(float32_results), 6),
                    "bin": self.name + ".bin", "floats": offset, "tensors": tensors}
        with open(os.path.join(out, self.name + ".bin"), "wb") as f:
            f.write(b"".join(blobs))
        with open(os.path.join(out, self.name + ".json"), "w") as f:
            json.dump(manifest, f, indent=1)
            f.write("\n")
        print(f"{self.name}: float32 error {manifest['float32_error']:.4g} of tolerance, {offset * 4 / 1024:.0f} KiB")


def leaf(t, dtype):
    """A fresh leaf copy of t in dtype that records its gradient."""
    return t.detach().to(dtype).clone().requires_grad_()


def both_precisions(compute):
    """compute(dtype) -> {key: tensor} in float64 and float32 from the same float32-exact inputs."""
    return compute(torch.float64), compute(torch.float32)


# ---------------------------------------------------------------------------------------------
# Layers


def conv_case(out, name, n, cin, cout, h, w, k, s, p, bias, gen):
    x = as_float32_exact(torch.randn(n, cin, h, w, generator=gen))
    weight = as_float32_exact(torch.randn(cout, cin, k, k, generator=gen) * (2.0 / (cin * k * k)) ** 0.5)
    b = as_float32_exact(torch.randn(cout, generator=gen)) if bias else None
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    dy = as_float32_exact(torch.randn(n, cout, ho, wo, generator=gen))

    def compute(dtype):
        xx = leaf(x, dtype)
        ww = leaf(weight, dtype)
        bb = leaf(b, dtype) if bias else None
        y = F.conv2d(xx, ww, bb, stride=s, padding=p)
        y.backward(dy.to(dtype))
        r = {"y": y, "dx": xx.grad, "dw": ww.grad}
        if bias:
            r["db"] = bb.grad
        return r

    ref, f32 = both_precisions(compute)
    case = Case(name, "conv2d", {"kernel": k, "stride": s, "padding": p, "bias": bias}, LAYER_TOLERANCE)
    case.store("x", x)
    case.store("w", weight)
    if bias:
        case.store("b", b)
    case.store("dy", dy)
    for key in ref:
        case.result(key, ref[key])
    case.write(out, f32)


def batchnorm_case(out, name, training, gen):
    n, c, h, w = 4, 5, 6, 7
    x = as_float32_exact(torch.randn(n, c, h, w, generator=gen) * 2 + 0.5)
    gamma = as_float32_exact(1 + 0.2 * torch.randn(c, generator=gen))
    beta = as_float32_exact(0.2 * torch.randn(c, generator=gen))
    mean = as_float32_exact(0.1 * torch.randn(c, generator=gen))
    var = as_float32_exact(1 + 0.5 * torch.rand(c, generator=gen))
    dy = as_float32_exact(torch.randn(n, c, h, w, generator=gen))

    def compute(dtype):
        xx = leaf(x, dtype)
        g, b = leaf(gamma, dtype), leaf(beta, dtype)
        rm, rv = mean.to(dtype).clone(), var.to(dtype).clone()
        y = F.batch_norm(xx, rm, rv, g, b, training=training, momentum=0.1, eps=1e-5)
        if not training:
            return {"y": y}
        y.backward(dy.to(dtype))
        return {"y": y, "dx": xx.grad, "dgamma": g.grad, "dbeta": b.grad, "running_mean_out": rm, "running_var_out": rv}

    ref, f32 = both_precisions(compute)
    op = "batchnorm2d_train" if training else "batchnorm2d_eval"
    attrs = {"eps": 1e-5, "momentum": 0.1} if training else {"eps": 1e-5}
    case = Case(name, op, attrs, LAYER_TOLERANCE)
    for key, t in (("x", x), ("gamma", gamma), ("beta", beta), ("running_mean", mean), ("running_var", var)):
        case.store(key, t)
    if training:
        case.store("dy", dy)
    for key in ref:
        case.result(key, ref[key])
    case.write(out, f32)


def unary_case(out, name, op, attrs, shape, function, gen):
    """A parameter-free layer: x, y, dy, dx."""
    x = as_float32_exact(torch.randn(*shape, generator=gen))
    y_shape = function(x).shape
    dy = as_float32_exact(torch.randn(*y_shape, generator=gen))

    def compute(dtype):
        xx = leaf(x, dtype)
        y = function(xx)
        y.backward(dy.to(dtype))
        return {"y": y, "dx": xx.grad}

    ref, f32 = both_precisions(compute)
    case = Case(name, op, attrs, LAYER_TOLERANCE)
    case.store("x", x)
    case.store("dy", dy)
    for key in ref:
        case.result(key, ref[key])
    case.write(out, f32)


def linear_case(out, gen):
    x = as_float32_exact(torch.randn(4, 12, generator=gen))
    w = as_float32_exact(torch.randn(7, 12, generator=gen) * 0.3)
    b = as_float32_exact(torch.randn(7, generator=gen))
    dy = as_float32_exact(torch.randn(4, 7, generator=gen))

    def compute(dtype):
        xx, ww, bb = (leaf(t, dtype) for t in (x, w, b))
        y = F.linear(xx, ww, bb)
        y.backward(dy.to(dtype))
        return {"y": y, "dx": xx.grad, "dw": ww.grad, "db": bb.grad}

    ref, f32 = both_precisions(compute)
    case = Case("linear", "linear", {}, LAYER_TOLERANCE)
    for key, t in (("x", x), ("w", w), ("b", b), ("dy", dy)):
        case.store(key, t)
    for key in ref:
        case.result(key, ref[key])
    case.write(out, f32)


def cross_entropy_case(out, gen):
    logits = as_float32_exact(torch.randn(6, 11, generator=gen) * 3)
    labels = torch.randint(0, 11, (6,), generator=gen)

    def compute(dtype):
        z = leaf(logits, dtype)
        loss = F.cross_entropy(z, labels)
        loss.backward()
        return {"loss": loss.reshape(1), "dlogits": z.grad}

    ref, f32 = both_precisions(compute)
    case = Case("cross_entropy", "cross_entropy", {"reduction": "mean"}, LAYER_TOLERANCE)
    case.store("logits", logits)
    case.store("labels", labels.to(torch.float64))
    for key in ref:
        case.result(key, ref[key])
    case.write(out, f32)


def sgd_case(out, name, momentum, weight_decay, gen):
    steps, n = 4, 50
    w0 = as_float32_exact(torch.randn(n, generator=gen))
    grads = as_float32_exact(torch.randn(steps, n, generator=gen))

    def compute(dtype):
        w = leaf(w0, dtype)
        optimizer = torch.optim.SGD([w], lr=0.1, momentum=momentum, weight_decay=weight_decay)
        for step in range(steps):
            w.grad = grads[step].to(dtype).clone()
            optimizer.step()
        return {"w_final": w}

    ref, f32 = both_precisions(compute)
    case = Case(name, "sgd", {"lr": 0.1, "momentum": momentum, "weight_decay": weight_decay, "steps": steps},
                LAYER_TOLERANCE)
    case.store("w0", w0)
    case.store("grads", grads)
    case.result("w_final", ref["w_final"])
    case.write(out, f32)


def lips_mask_case(out, name, n, density, gen):
    """Keep the floor(n·density) entries of largest |g·w| (scores in float32, as the engine
    computes them), ties to the lower index; written from a plain stable sort."""
    w = torch.randn(n, generator=gen).to(torch.float32)
    g = torch.randn(n, generator=gen).to(torch.float32)
    # Exact ties: repeated values, so that the lower-index rule decides.
    w[n // 2:n // 2 + 40] = w[:40]
    g[n // 2:n // 2 + 40] = g[:40]
    scores = (g * w).abs().numpy()
    keep = int(np.floor(n * density))
    order = sorted(range(n), key=lambda i: (-float(scores[i]), i))
    mask = torch.zeros(n, dtype=torch.float64)
    mask[order[:keep]] = 1
    case = Case(name, "lips_mask", {"density": density, "keep": keep}, (0.0, 1e-6))
    case.store("w", w)
    case.store("g", g)
    case.result("mask", mask)
    case.result("w_masked", w.to(torch.float64) * mask)
    case.write(out, {"mask": mask, "w_masked": w.to(torch.float64) * mask})


# ---------------------------------------------------------------------------------------------
# Whole models


def generated_state(model, seed):
    """Starting weights and BN statistics from the splitmix generator (no stored floats): conv
    and linear weights uniform with about Kaiming's spread, BN weights around 1, biases and
    running means around 0, running variances around 1."""
    specs = {}
    names = [("param:" + n, p) for n, p in model.named_parameters()] + \
            [("buffer:" + n, b) for n, b in model.named_buffers() if not n.endswith("num_batches_tracked")]
    for index, (key, tensor) in enumerate(names):
        name = key.split(":", 1)[1]
        if tensor.dim() > 1:
            fan_out = tensor.shape[0] * int(np.prod(tensor.shape[2:])) if tensor.dim() == 4 else tensor.shape[1]
            offset, scale = 0.0, power_of_two_below((6.0 / fan_out) ** 0.5)
        elif name.endswith("running_var"):
            offset, scale = 1.0, 0.25
        elif name.endswith("weight"):          # BN weight
            offset, scale = 1.0, 0.125
        else:                                  # biases, BN bias, running mean
            offset, scale = 0.0, 0.0625
        specs[key] = (tuple(tensor.shape), {"seed": seed * 1000 + index, "offset": offset, "scale": scale})
    return specs


# A model case is only as good as its conditioning. ReLU and max-pool are discontinuous in their
# gradient: a ReLU input within rounding of 0, or a max-pool window whose two largest values are
# within rounding of each other, routes the gradient differently under any change of rounding
# (another summation order, Winograd instead of im2col, float32 instead of float64), and after an
# SGD step the weights differ by far more than the tolerance. Seen in the cases this generator
# first drew: a ResNet-8 block output of 7e-7 before its ReLU (50x PyTorch float32's error after
# two steps, Winograd on or off), a VGG-11 max-pool window holding 1.2226291 and 1.2226275 (65x
# the tolerance in one conv's weight gradient). Such a case measures luck, not the engine. So a
# model case is kept only if float32 arithmetic lands within MAX_FLOAT32_ERROR of the tolerance
# not only as PyTorch rounds, but also with the input and the starting weights moved by up to
# JITTER_ULPS float32 ulps in random directions (FLOAT32_VARIANTS draws): other rounding, and
# more of it than PyTorch's, since the engine may round differently (Winograd, another BLAS
# blocking on another processor). Otherwise the next seed is tried.
MAX_FLOAT32_ERROR = 0.25
FLOAT32_VARIANTS = 8
JITTER_ULPS = 4


def ulp_jitter(t, generator):
    """t with every element moved by up to JITTER_ULPS float32 ulps, up or down at random."""
    step = torch.randint(-JITTER_ULPS, JITTER_ULPS + 1, t.shape, generator=generator).to(torch.float64)
    return t * (1 + step * 2.0 ** -24)


# The jitter above catches near-ties that float32 rounding reaches; those that only another
# rounding pattern reaches (the engine's Winograd, another BLAS blocking) it can miss. A near-tie
# only matters if gradient flows through it, so each ReLU and max-pool of the training steps is
# also watched directly: a decision within TIE_MARGIN of its tensor's largest value that passes
# more than TIE_GRADIENT of that tensor's largest gradient rejects the seed.
TIE_MARGIN = 2.0 ** -20
TIE_GRADIENT = 0.01


class NearTies(TorchFunctionMode):
    """Records, while active, the largest gradient (relative to its tensor's largest) that passes
    through a ReLU input or a max-pool window within TIE_MARGIN of a tie."""

    def __init__(self):
        super().__init__()
        self.worst = 0.0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        out = func(*args, **kwargs)
        if name not in ("relu", "relu_", "max_pool2d", "_max_pool2d") or not out.requires_grad:
            return out
        with torch.no_grad():
            x = args[0].detach()
            scale = x.abs().max().item() * TIE_MARGIN
            if name.startswith("relu"):
                near = x.abs() < scale
            else:
                kernel = args[1]
                stride = args[2] if len(args) > 2 and args[2] is not None else kwargs.get("stride") or kernel
                padding = args[3] if len(args) > 3 else kwargs.get("padding", 0)
                padded = F.pad(x, (padding,) * 4, value=float("-inf"))
                top = padded.unfold(2, kernel, stride).unfold(3, kernel, stride).flatten(-2).topk(2, dim=-1).values
                near = (top[..., 0] - top[..., 1] < scale) & (top[..., 0] > 0)
        if near.any():
            def watch(gradient, near=near):
                largest = gradient.abs().max().item()
                if largest > 0:
                    self.worst = max(self.worst, gradient[near].abs().max().item() / largest)
            out.register_hook(watch)
        return out


def tolerance_ratio(got, want, rtol, atol):
    got, want = got.detach().to(torch.float64).reshape(-1), want.detach().to(torch.float64).reshape(-1)
    return ((got - want).abs() / (atol + rtol * want.abs())).max().item() if want.numel() else 0.0


def model_case(out, name, architecture, batch, channels_hw, classes, seed, steps=3, lr=0.1, momentum=0.9):
    """A whole model in train mode: forward, backward, `steps` SGD steps with momentum on one batch,
    BN statistics and eval-mode logits. The first well-conditioned seed from `seed` on is used."""
    h, w = channels_hw
    template = models.build(architecture, classes, h, w)
    params = [n for n, _ in template.named_parameters()]
    buffers = [n for n, _ in template.named_buffers() if not n.endswith("num_batches_tracked")]

    def compute(dtype, x, labels, specs, jitter=None):
        model = models.build(architecture, classes, h, w).to(dtype).train()
        state = {}
        for key, (shape, spec) in specs.items():
            value = generated(shape, spec["seed"], spec["offset"], spec["scale"])
            state[key.split(":", 1)[1]] = (value if jitter is None else ulp_jitter(value, jitter)).to(dtype)
        model.load_state_dict(state, strict=False)
        named = dict(model.named_parameters())
        named_buffers = dict(model.named_buffers())
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        r = {}
        for step in range(steps):
            optimizer.zero_grad()
            logits = model(x.to(dtype))
            loss = F.cross_entropy(logits, labels)
            loss.backward()
            if step == 0:
                r["logits"] = logits.detach().clone()
                r["loss"] = loss.detach().reshape(1)
                for n in params:
                    r["grad:" + n] = named[n].grad.detach().clone()
            optimizer.step()
        for n in params:
            r["final_param:" + n] = named[n].detach().clone()
        for n in buffers:
            r["final_buffer:" + n] = named_buffers[n].detach().clone()
        model.eval()
        with torch.no_grad():
            r["eval_logits"] = model(x.to(dtype))
        return r

    for attempt in range(seed, seed + 200):
        gen = torch.Generator().manual_seed(attempt)
        x = as_float32_exact(torch.rand(batch, 3, h, w, generator=gen))
        labels = torch.randint(0, classes, (batch,), generator=gen)
        specs = generated_state(template, int(torch.randint(1, 1 << 20, (1,), generator=gen)))
        with NearTies() as ties:
            ref = compute(torch.float64, x, labels, specs)
        if ties.worst > TIE_GRADIENT:
            print(f"{name}: seed {attempt}: a near-tie passes {ties.worst:.3g} of its tensor's largest gradient, next")
            continue
        f32 = compute(torch.float32, x, labels, specs)
        spread = max(tolerance_ratio(f32[k], ref[k], *MODEL_TOLERANCE) for k in ref)
        for _ in range(FLOAT32_VARIANTS):
            if spread > MAX_FLOAT32_ERROR:
                break
            variant = compute(torch.float32, ulp_jitter(x, gen), labels, specs, jitter=gen)
            spread = max(spread, max(tolerance_ratio(variant[k], ref[k], *MODEL_TOLERANCE) for k in ref))
        if spread <= MAX_FLOAT32_ERROR:
            break
        print(f"{name}: seed {attempt}: float32 lands {spread:.3g} of tolerance away, next")
    else:
        raise SystemExit(f"{name}: no well-conditioned seed in 200 tries")
    attrs = {"model": architecture, "steps": steps, "lr": lr, "momentum": momentum, "classes": classes,
             "bn_eps": 1e-5, "bn_momentum": 0.1, "params": params, "buffers": buffers,
             "seed": attempt, "float32_variants_error": round(spread, 6)}
    case = Case(name, "model", attrs, MODEL_TOLERANCE)
    case.generated = specs
    case.store("x", x)
    case.store("labels", labels.to(torch.float64))
    for key in ref:
        case.result(key, ref[key], sample=True)
    case.write(out, f32)


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)   # float32 results do not depend on the machine's core count

    def gen(name):
        """Each case draws from a generator seeded by its name, so adding a case changes no other."""
        return torch.Generator().manual_seed(zlib.crc32(name.encode()))

    # Layers: every conv geometry the models use (stem 7x7/2, 3x3/1 through Winograd and through
    # im2col, 3x3/2, 1x1/2 shortcut, 1x1/1), odd sizes, with and without bias.
    conv_case(out, "conv_k3s1p1_winograd", 2, 8, 6, 9, 11, 3, 1, 1, False, gen("conv_k3s1p1_winograd"))
    conv_case(out, "conv_k3s1p1_winograd_bias", 3, 16, 8, 16, 16, 3, 1, 1, True, gen("conv_k3s1p1_winograd_bias"))
    conv_case(out, "conv_k3s1p1_im2col", 2, 3, 8, 10, 9, 3, 1, 1, False, gen("conv_k3s1p1_im2col"))
    conv_case(out, "conv_k7s2p3", 2, 3, 8, 19, 17, 7, 2, 3, False, gen("conv_k7s2p3"))
    conv_case(out, "conv_k3s2p1_bias", 2, 5, 6, 11, 10, 3, 2, 1, True, gen("conv_k3s2p1_bias"))
    conv_case(out, "conv_k1s2p0", 2, 6, 9, 9, 8, 1, 2, 0, False, gen("conv_k1s2p0"))
    conv_case(out, "conv_k1s1p0", 2, 6, 3, 5, 7, 1, 1, 0, False, gen("conv_k1s1p0"))
    conv_case(out, "conv_k5s3p2_bias", 3, 2, 4, 11, 9, 5, 3, 2, True, gen("conv_k5s3p2_bias"))
    batchnorm_case(out, "bn_train", True, gen("bn_train"))
    batchnorm_case(out, "bn_eval", False, gen("bn_eval"))
    unary_case(out, "maxpool_k2s2p0", "maxpool2d", {"kernel": 2, "stride": 2, "padding": 0}, (2, 3, 8, 6),
               lambda t: F.max_pool2d(t, 2, 2, 0), gen("maxpool_k2s2p0"))
    unary_case(out, "maxpool_k3s2p1", "maxpool2d", {"kernel": 3, "stride": 2, "padding": 1}, (3, 4, 9, 7),
               lambda t: F.max_pool2d(t, 3, 2, 1), gen("maxpool_k3s2p1"))
    unary_case(out, "global_avgpool", "global_avgpool", {}, (3, 5, 4, 6),
               lambda t: F.adaptive_avg_pool2d(t, 1).flatten(1), gen("global_avgpool"))
    unary_case(out, "relu", "relu", {}, (4, 3, 5, 5), F.relu, gen("relu"))
    linear_case(out, gen("linear"))
    cross_entropy_case(out, gen("cross_entropy"))
    sgd_case(out, "sgd_momentum", 0.9, 0.0, gen("sgd_momentum"))
    sgd_case(out, "sgd_momentum_decay", 0.9, 5e-4, gen("sgd_momentum_decay"))
    sgd_case(out, "sgd_plain", 0.0, 0.0, gen("sgd_plain"))
    lips_mask_case(out, "lips_mask_d05", 4000, 0.5, gen("lips_mask_d05"))
    lips_mask_case(out, "lips_mask_d03", 3001, 0.3, gen("lips_mask_d03"))
    # Whole models: forward, backward, three SGD steps, BN statistics, eval logits. The seed is
    # where the search for a well-conditioned case starts (model_case); the one used is recorded.
    model_case(out, "model_resnet8_cifar10", "resnet8", 3, (32, 32), 10, 8000)
    model_case(out, "model_vgg11bn_cifar10", "vgg11bn", 3, (32, 32), 10, 11000)
    model_case(out, "model_resnet10_tinyimagenet_b2", "resnet10", 2, (64, 64), 200, 10000)
    model_case(out, "model_vgg11bn_64px_b2", "vgg11bn", 2, (64, 64), 200, 2000)
    model_case(out, "model_resnet6_cifar100", "resnet6", 3, (32, 32), 100, 6000)
    model_case(out, "model_resnet4_odd", "resnet4", 5, (20, 24), 7, 4000)
    model_case(out, "model_cnn_fmnist", "cnn", 4, (32, 32), 10, 1000)
    # Whole federations: a few rounds of FedAvg and LIPS on tiny images (golden_federation.py).
    import golden_federation
    golden_federation.write_cases(out)
    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"{len([f for f in os.listdir(out) if f.endswith('.json')])} cases, {total / 1e6:.2f} MB in {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Golden"))

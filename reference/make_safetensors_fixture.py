#!/usr/bin/env python3
"""Writes the safetensors fixtures of Tests/LIPSTests/Fixtures with PyTorch's `safetensors` package.

    python3 reference/make_safetensors_fixture.py [OUT_DIR]     # default: Tests/LIPSTests/Fixtures

- `cnn10.safetensors`: `models.build("cnn", 10).state_dict()` after seed 7 and one training-mode
  forward pass (so the BN running statistics and `num_batches_tracked` are not their defaults),
  saved by `safetensors.torch.save_file`.
- `dtypes.safetensors`: one small tensor each of float16, bfloat16, float64, float32 and int64.
- `*.json`: per tensor its dtype, shape, first values and float64 sum, which the Swift test
  (Tests/LIPSTests/Run/SafetensorsTests.swift) compares with what the engine reads.
"""
import json
import os
import sys

import safetensors.torch
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402

DTYPE_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64", torch.int64: "I64"}


def describe(state):
    """name -> dtype, shape, first (up to) 4 values and the float64 sum of all of them."""
    result = {}
    for name, tensor in state.items():
        flat = tensor.reshape(-1)
        result[name] = {
            "dtype": DTYPE_NAMES[tensor.dtype],
            "shape": list(tensor.shape),
            "first": [float(v) if tensor.is_floating_point() else int(v) for v in flat[:4].tolist()],
            "sum": float(flat.double().sum()),
        }
    return result


def write(out, name, state):
    safetensors.torch.save_file(state, os.path.join(out, name + ".safetensors"))
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(describe(state), f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "Tests", "LIPSTests", "Fixtures")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    model = models.build("cnn", 10)
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 3, 32, 32))
    write(out, "cnn10", {k: v.contiguous() for k, v in model.state_dict().items()})

    values = torch.tensor([[0.1, -2.5, 65504.0], [1e-3, 3.0, -0.0]], dtype=torch.float64)
    write(out, "dtypes", {
        "half": values.to(torch.float16),
        "bfloat": values.to(torch.bfloat16),
        "double": values,
        "single": values.to(torch.float32),
        "long": torch.tensor([3, -1, 2**40], dtype=torch.int64),
        "scalar": torch.tensor(5, dtype=torch.int64),
    })


if __name__ == "__main__":
    main()

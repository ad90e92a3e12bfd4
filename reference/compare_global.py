#!/usr/bin/env python3
"""Per-tensor relative L2 distance between two model files (safetensors, PyTorch state_dict names).

    python reference/compare_global.py A.safetensors B.safetensors

Prints, for every tensor both files hold (`num_batches_tracked` left out), ||A - B||_2 / ||A||_2
(the absolute distance when ||A||_2 is 0), then the largest value and the relative L2 distance of
all tensors taken together. Tensors present in only one file are listed. Exit status 0.
"""
import sys

import torch
from safetensors.torch import load_file


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: compare_global.py A.safetensors B.safetensors")
    a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
    names = [n for n in a if not n.endswith("num_batches_tracked")]
    worst, diff_sq, norm_sq = 0.0, 0.0, 0.0
    for name in names:
        if name not in b:
            print(f"{name:40s} only in {sys.argv[1]}")
            continue
        x, y = a[name].to(torch.float64), b[name].to(torch.float64)
        if x.shape != y.shape:
            print(f"{name:40s} shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
            continue
        diff, norm = torch.linalg.vector_norm(x - y).item(), torch.linalg.vector_norm(x).item()
        relative = diff / norm if norm > 0 else diff
        worst = max(worst, relative)
        diff_sq, norm_sq = diff_sq + diff * diff, norm_sq + norm * norm
        print(f"{name:40s} {relative:.3e}")
    for name in b:
        if name not in a and not name.endswith("num_batches_tracked"):
            print(f"{name:40s} only in {sys.argv[2]}")
    total = (diff_sq ** 0.5) / (norm_sq ** 0.5) if norm_sq > 0 else diff_sq ** 0.5
    print(f"max per-tensor relative L2 {worst:.3e}; all tensors {total:.3e}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compares the LIPS masks two received models carry: where each is zero in the maskable tensors.

    python reference/compare_masks.py --model resnet8 [--classes 10] A.safetensors B.safetensors

A and B are what one client received (`lips export RUN --client K`, or replay.py's
clientK-rN.safetensors with --save-received). The maskable tensors are every convolution weight
but the first (docs/semantics.md §6); a weight of the global model is never exactly zero, so a
zero marks a masked entry. Prints per tensor the kept entries on each side and how many
positions differ, then the total.
"""
import argparse
import os
import sys

from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import federation  # noqa: E402
import models  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("a")
    parser.add_argument("b")
    arguments = parser.parse_args()
    convs, _ = federation.weight_names(models.build(arguments.model, arguments.classes))
    a, b = load_file(arguments.a), load_file(arguments.b)
    total = differ = 0
    for name in convs[1:]:
        if name not in a or name not in b:
            raise SystemExit(f"compare_masks: {name} is missing from {arguments.a if name not in a else arguments.b}")
        kept_a, kept_b = a[name] != 0, b[name] != 0
        d, n = int((kept_a != kept_b).sum()), kept_a.numel()
        total, differ = total + n, differ + d
        print(f"{name:32s} kept {int(kept_a.sum()):8d} / {int(kept_b.sum()):8d}, differ {d:7d} of {n} ({100 * d / n:.3f}%)")
    print(f"all maskable: {differ} of {total} differ ({100 * differ / total:.3f}%)")


if __name__ == "__main__":
    main()

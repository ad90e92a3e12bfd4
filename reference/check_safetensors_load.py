"""Checks that PyTorch loads a model exported by `lips export` (run by hand, not by CI).

    python reference/check_safetensors_load.py MODEL CLASSES FILE.safetensors [--height H --width W]

Builds `models.build(MODEL, CLASSES)`, then `model.load_state_dict(safetensors.torch.load_file(FILE))`
(strict: every key present, no extra one, every shape equal), and prints the number of tensors,
the dtypes and one forward pass's logits shape. Exits non-zero on any mismatch.
"""

import argparse
import os
import sys

import safetensors.torch
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("classes", type=int)
    parser.add_argument("file")
    parser.add_argument("--height", type=int, default=32)
    parser.add_argument("--width", type=int, default=32)
    args = parser.parse_args()

    model = models.build(args.model, args.classes, args.height, args.width)
    state = safetensors.torch.load_file(args.file)
    result = model.load_state_dict(state)  # strict=True raises on missing/unexpected keys or shapes
    dtypes = sorted({str(t.dtype) for t in state.values()})
    for name, tensor in model.state_dict().items():
        if not torch.equal(tensor, state[name]):
            sys.exit(f"{name}: loaded values differ from the file")
    model.eval()
    with torch.no_grad():
        logits = model(torch.zeros(2, 3, args.height, args.width))
    zeros = sum(int((t == 0).sum()) for n, t in state.items() if n.endswith("weight") and t.dim() == 4)
    print(f"{args.file}: load_state_dict OK ({result}); {len(state)} tensors, dtypes {dtypes}; "
          f"conv-weight zeros {zeros}; logits {tuple(logits.shape)}")


if __name__ == "__main__":
    main()

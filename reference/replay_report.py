#!/usr/bin/env python3
"""The table and plot of an engine-vs-PyTorch replay (docs/results/replay).

    python reference/replay_report.py --runs RUNS --names A B … --out FOLDER

For each name, RUNS/NAME is an engine run folder written with `save_global_every: 1` and
RUNS/NAME-pytorch the replay.py folder of the same run. Per round it reads both sides' personalised
and dense accuracies (metrics.jsonl) and the global models (RUNS/NAME/models/global-rN.safetensors,
RUNS/NAME-pytorch/global-rN.safetensors), and writes into FOLDER:

- replay.csv: name, round, engine and PyTorch personalised and dense accuracies, their difference
  in points, and the relative L2 distance ‖engine − PyTorch‖₂ / ‖PyTorch‖₂ over all float tensors
  together (BN running statistics included) and the largest per-tensor one;
- replay.md: the same as Markdown tables, one per run;
- replay.svg: personalised accuracy per round (engine solid, PyTorch dashed) and the relative L2
  distance per round (log scale), one colour per run.

Rounds that only one side has finished are left out, so a report can be drawn mid-way.
"""
import argparse
import csv
import json
import math
import os

import torch
from safetensors.torch import load_file

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def metrics(folder):
    path = os.path.join(folder, "metrics.jsonl")
    if not os.path.exists(path):
        return {}
    with open(path) as handle:
        return {row["round"]: row for row in (json.loads(line) for line in handle if line.strip())}


def distance(engine_path, pytorch_path):
    """(all tensors together, worst single tensor) relative L2 of engine from PyTorch."""
    a, b = load_file(engine_path), load_file(pytorch_path)
    difference = reference = 0.0
    worst = 0.0
    for name, want in b.items():
        if not want.is_floating_point():
            continue
        got = a[name].to(torch.float64)
        want = want.to(torch.float64)
        d, r = float(torch.sum((got - want) ** 2)), float(torch.sum(want ** 2))
        difference, reference = difference + d, reference + r
        if r > 0:
            worst = max(worst, math.sqrt(d / r))
    return math.sqrt(difference / reference), worst


def collect(runs, name):
    engine_dir, pytorch_dir = os.path.join(runs, name), os.path.join(runs, name + "-pytorch")
    engine, pytorch = metrics(engine_dir), metrics(pytorch_dir)
    rows = []
    for r in sorted(set(engine) & set(pytorch)):
        engine_model = os.path.join(engine_dir, "models", f"global-r{r}.safetensors")
        pytorch_model = os.path.join(pytorch_dir, f"global-r{r}.safetensors")
        if not (os.path.exists(engine_model) and os.path.exists(pytorch_model)):
            continue
        together, worst = distance(engine_model, pytorch_model)
        e, p = engine[r], pytorch[r]
        rows.append({"name": name, "round": r,
                     "engine_personalized": e["personalized_accuracy"], "pytorch_personalized": p["personalized_accuracy"],
                     "engine_dense": e["dense_accuracy"], "pytorch_dense": p["dense_accuracy"],
                     "personalized_points": 100 * (e["personalized_accuracy"] - p["personalized_accuracy"]),
                     "dense_points": 100 * (e["dense_accuracy"] - p["dense_accuracy"]),
                     "relative_l2": together, "worst_tensor_relative_l2": worst})
    return rows


def markdown(rows_by_name):
    lines = []
    for name, rows in rows_by_name.items():
        lines += [f"### {name}", "",
                  "| round | personalised: engine | PyTorch | Δ points | dense: engine | PyTorch | Δ points | rel. L2 (all) | rel. L2 (worst tensor) |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for row in rows:
            lines.append(f"| {row['round']} | {row['engine_personalized']:.4f} | {row['pytorch_personalized']:.4f} | "
                         f"{row['personalized_points']:+.2f} | {row['engine_dense']:.4f} | {row['pytorch_dense']:.4f} | "
                         f"{row['dense_points']:+.2f} | {row['relative_l2']:.2e} | {row['worst_tensor_relative_l2']:.2e} |")
        if not rows:
            lines.append("| (no round finished on both sides) | | | | | | | | |")
        lines.append("")
    return "\n".join(lines)


def svg(rows_by_name):
    """Two panels side by side, drawn by hand: accuracy (linear) and relative L2 (log10)."""
    width, height, margin = 460, 320, 56
    rounds = max([row["round"] for rows in rows_by_name.values() for row in rows] or [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width}" height="{height + 60}" '
             f'font-family="sans-serif" font-size="12">', '<rect width="100%" height="100%" fill="white"/>']

    def panel(left, title, values, low, high, label, log):
        x0, y0, x1, y1 = left + margin, 30, left + width - 16, height - 30

        def x(r):
            return x0 + (x1 - x0) * r / max(1, rounds)

        def y(v):
            t = (math.log10(v) - low) / (high - low) if log else (v - low) / (high - low)
            return y1 - (y1 - y0) * min(1.0, max(0.0, t))

        parts.append(f'<text x="{(x0 + x1) / 2}" y="18" text-anchor="middle" font-weight="bold">{title}</text>')
        parts.append(f'<line x1="{x0}" y1="{y1}" x2="{x1}" y2="{y1}" stroke="black"/>')
        parts.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="black"/>')
        for r in range(rounds + 1):
            parts.append(f'<text x="{x(r)}" y="{y1 + 16}" text-anchor="middle">{r}</text>')
        parts.append(f'<text x="{(x0 + x1) / 2}" y="{y1 + 30}" text-anchor="middle">round</text>')
        steps = range(int(low), int(high) + 1) if log else [low + (high - low) * i / 5 for i in range(6)]
        for tick in steps:
            text = f"1e{tick}" if log else f"{tick:.1f}"
            value = 10.0 ** tick if log else tick
            parts.append(f'<line x1="{x0}" y1="{y(value)}" x2="{x1}" y2="{y(value)}" stroke="#ddd"/>')
            parts.append(f'<text x="{x0 - 6}" y="{y(value) + 4}" text-anchor="end">{text}</text>')
        parts.append(f'<text x="{left + 14}" y="{(y0 + y1) / 2}" transform="rotate(-90 {left + 14} {(y0 + y1) / 2})" '
                     f'text-anchor="middle">{label}</text>')
        for index, (series, dashed) in enumerate(values):
            colour = COLOURS[index // 2 % len(COLOURS)] if len(values) > len(rows_by_name) else COLOURS[index % len(COLOURS)]
            points = " ".join(f"{x(r):.1f},{y(v):.1f}" for r, v in series if v is not None and (not log or v > 0))
            if points:
                dash = ' stroke-dasharray="5,4"' if dashed else ""
                parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')

    accuracy, distances = [], []
    for name, rows in rows_by_name.items():
        accuracy.append(([(row["round"], row["engine_personalized"]) for row in rows], False))
        accuracy.append(([(row["round"], row["pytorch_personalized"]) for row in rows], True))
        distances.append(([(row["round"], row["relative_l2"]) for row in rows], False))
    positive = [row["relative_l2"] for rows in rows_by_name.values() for row in rows if row["relative_l2"] > 0]
    low = math.floor(math.log10(min(positive))) if positive else -8
    high = max(low + 1, math.ceil(math.log10(max(positive)))) if positive else 0
    panel(0, "personalised accuracy (engine solid, PyTorch dashed)", accuracy, 0.0, 1.0, "accuracy", False)
    panel(width, "relative L2, engine vs PyTorch global model", distances, low, high, "‖engine − PyTorch‖ / ‖PyTorch‖", True)
    for index, name in enumerate(rows_by_name):
        xx = 20 + index * (2 * width - 40) / max(1, len(rows_by_name))
        parts.append(f'<line x1="{xx}" y1="{height + 30}" x2="{xx + 24}" y2="{height + 30}" stroke="{COLOURS[index % len(COLOURS)]}" stroke-width="3"/>')
        parts.append(f'<text x="{xx + 30}" y="{height + 34}">{name}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", required=True, help="folder holding NAME and NAME-pytorch for every name")
    parser.add_argument("--names", nargs="+", required=True)
    parser.add_argument("--out", required=True)
    arguments = parser.parse_args()
    rows_by_name = {name: collect(arguments.runs, name) for name in arguments.names}
    os.makedirs(arguments.out, exist_ok=True)
    fields = ["name", "round", "engine_personalized", "pytorch_personalized", "personalized_points", "engine_dense",
              "pytorch_dense", "dense_points", "relative_l2", "worst_tensor_relative_l2"]
    with open(os.path.join(arguments.out, "replay.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for rows in rows_by_name.values():
            writer.writerows(rows)
    with open(os.path.join(arguments.out, "replay.md"), "w") as handle:
        handle.write(markdown(rows_by_name))
    with open(os.path.join(arguments.out, "replay.svg"), "w") as handle:
        handle.write(svg(rows_by_name))
    for name, rows in rows_by_name.items():
        print(f"{name}: {len(rows)} rounds on both sides")


if __name__ == "__main__":
    main()

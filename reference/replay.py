#!/usr/bin/env python3
"""Replays an engine run in PyTorch: the same federation, protocol and evaluation, round by round.

Given a run folder of `lips run` (its resolved `config.yaml`, which must name `split_file` and
`init_from` and set `shuffle: false`), this script computes what docs/semantics.md says the engine
computes (the protocol itself is federation.py):

- the data of §1 (Fashion-MNIST or MNIST IDX files: 1 channel repeated to 3, 28 -> 32 zero
  padding, /255, then (x - mean) / std when `normalize_mean`/`normalize_std` are set);
- the split file's per-client train and test indices (§2), used in the order given;
- the `init_from` safetensors as the initial global model (§3);
- local training (§4) with `shuffle: false`: every epoch the batches are consecutive slices of
  `batch_size` of the client's train list, a fresh SGD optimizer (lr, momentum, weight_decay) per
  client per round, `local_epochs` epochs, and the last step's gradient kept (fp16-rounded with
  `grad_precision: fp16`);
- FedAvg of the parameters and BN running statistics (§5), weights n_k / sum n_j in Float, the sum
  taken in increasing client index by blocks of `aggregation_block` clients (then the block sums in
  order);
- LIPS masks (§6) on masking rounds, from |g*w| or |w|, the floor(n*d) largest scores kept
  (lower index first among equal scores);
- `bn: received` or `bn: local` (§7);
- the local algorithm (`algorithm`: fedavg, fedprox with `mu`, scaffold, fedavgm) and the server
  rule (`server_lr`, `server_momentum`), docs/semantics.md §12;
- the participating clients of every round drawn as §8 says (and checked against the `clients` of
  the run's `metrics.jsonl`, where it has them);
- evaluation (§9): personalised accuracy (each client's received model on its own test set) and
  dense accuracy (the global model), means over the clients that have test samples.

It writes OUT_DIR/metrics.jsonl with the engine's key names (round, method, density,
clients_trained, clients, train_loss, train_accuracy, personalized_accuracy, dense_accuracy,
global_accuracy) and OUT_DIR/global-rN.safetensors, the global model after round N (PyTorch
state_dict names, `num_batches_tracked` written as 0 as `lips export` does); with --save-received
also OUT_DIR/clientK-rN.safetensors, the model client K receives after round N.

    python reference/replay.py RUN_DIR --out OUT_DIR [--rounds N]

After each round OUT_DIR/replay-state.pt holds everything needed to go on (written atomically, as
are the other files): run the same command again after a kill and the replay continues from the
last finished round. Compare a replayed model with the engine's (`lips export RUN_DIR`, or the
run's models/global-rN.safetensors with `save_global_every: 1`) with reference/compare_global.py.
The environment is reference/requirements.txt.
"""
import argparse
import gzip
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import federation  # noqa: E402
import models  # noqa: E402

DEFAULT_DATA_DIRS = {"fashion-mnist": "/usr/share/datasets/fashion-mnist", "mnist": "data/mnist"}


# ---------------------------------------------------------------- config and run folder

def parse_scalar(text):
    """One value of the engine's resolved config.yaml (flat keys, scalars and [a, b] lists)."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [parse_scalar(part) for part in inner.split(",")] if inner else []
    if text in ("null", "~", ""):
        return None
    if text in ("true", "false"):
        return text == "true"
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_config(path):
    """The flat `key: value  # comment` lines that `lips run` writes into a run folder."""
    config = {}
    with open(path) as handle:
        for line in handle:
            stripped = line.strip()
            if not stripped or stripped.startswith("#") or ":" not in stripped:
                continue
            key, rest = stripped.split(":", 1)
            value = rest
            # A comment starts at " #" outside quotes; values here are never quoted with '#'.
            if " #" in value:
                value = value[:value.index(" #")]
            config[key.strip()] = parse_scalar(value)
    return config


def read_metrics(path):
    rows = []
    if os.path.exists(path):
        with open(path) as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
    return {row["round"]: row for row in rows}


def resolve(path, run_dir):
    """A path from the config: as given (the engine reads it relative to where it ran), else
    relative to the run folder."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    candidate = os.path.join(run_dir, path)
    if os.path.exists(candidate):
        return candidate
    raise SystemExit(f"replay: cannot find {path!r} (as given or relative to {run_dir}); pass it with --split/--init")


# ---------------------------------------------------------------- data (§1)

def read_idx(folder, stem):
    """An IDX file `stem` (gzipped or plain) as a numpy array of its declared shape."""
    for name in (stem + ".gz", stem):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as handle:
                data = handle.read()
            if data[0] != 0 or data[1] != 0 or data[2] != 8:
                raise SystemExit(f"replay: {path} is not an unsigned-byte IDX file")
            dims = data[3]
            shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    raise SystemExit(f"replay: no {stem}(.gz) in {folder}")


def load_dataset(config):
    name = config["dataset"]
    if name not in DEFAULT_DATA_DIRS:
        raise SystemExit(f"replay: dataset {name!r} is not supported (fashion-mnist and mnist are)")
    folder = config.get("data_dir") or DEFAULT_DATA_DIRS[name]
    train = (read_idx(folder, "train-images-idx3-ubyte"), read_idx(folder, "train-labels-idx1-ubyte"))
    test = (read_idx(folder, "t10k-images-idx3-ubyte"), read_idx(folder, "t10k-labels-idx1-ubyte"))
    return train, test


def model_inputs(images, indices, config, dtype=torch.float32):
    """Images `indices` of a (N, 28, 28) uint8 array as the engine's (n, 3, 32, 32) Float input."""
    raw = torch.from_numpy(np.ascontiguousarray(images[np.asarray(indices, dtype=np.int64)]))
    x = raw.to(torch.float32) / 255.0
    if x.shape[-1] == 28:
        x = F.pad(x, (2, 2, 2, 2))
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    mean, std = config.get("normalize_mean") or [], config.get("normalize_std") or []
    if mean:
        m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
        x = (x - m) / s
    return x.to(dtype).contiguous()


# ---------------------------------------------------------------- output

STATE_FILE = "replay-state.pt"
RUNTIME_KEYS = ("workers", "checkpoint_every", "save_global_every")


def json_safe(row):
    """A metrics row as the engine writes it: a non-finite number is null (JSON has no NaN)."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


def pack_state(run):
    """The federation's state, small: gradients in fp16 when they are fp16-rounded anyway,
    masks as booleans (each round's file for 100 ResNet-8 clients is then ~0.4 GB, not ~1 GB);
    then the algorithms' state at full precision (SCAFFOLD's c and every c_k, the server SGD's
    momentum buffers)."""
    grads = [None if g is None else {n: (t.half() if run.fp16 else t) for n, t in g.items()} for g in run.grads]
    masks = [None if m is None else {n: t.bool() for n, t in m.items()} for m in run.masks]
    return run.global_state, masks, grads, run.local_state, run.algorithm_state()


def unpack_state(packed, dtype):
    """(global_state, masks, grads, local_state, algorithm state or None for a state written
    before the algorithms existed, which can only be FedAvg's)."""
    global_state, masks, grads, local_state = packed[:4]
    grads = [None if g is None else {n: t.to(dtype) for n, t in g.items()} for g in grads]
    masks = [None if m is None else {n: t.to(dtype) for n, t in m.items()} for m in masks]
    return global_state, masks, grads, local_state, (packed[4] if len(packed) > 4 else None)


def sha256_of(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def write_atomically(path, write):
    """write(temporary path), then rename over `path`: a killed replay leaves the old file or the new."""
    temporary = path + ".tmp"
    write(temporary)
    os.replace(temporary, path)


def save_global(state, path):
    tensors = {}
    for name, tensor in state.items():
        tensors[name] = tensor.to(torch.float32).contiguous()
        if name.endswith("running_var"):
            tensors[name[:-len("running_var")] + "num_batches_tracked"] = torch.zeros((), dtype=torch.int64)
    write_atomically(path, lambda temporary: save_file(tensors, temporary))


# ---------------------------------------------------------------- the replay

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--out", required=True, help="output folder (metrics.jsonl, global-rN.safetensors)")
    parser.add_argument("--rounds", type=int, default=None, help="replay only the first N rounds")
    parser.add_argument("--split", default=None, help="split file (default: the config's split_file)")
    parser.add_argument("--init", default=None, help="initial model (default: the config's init_from)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save-received", action="store_true",
                        help="also write clientK-rN.safetensors, what client K receives after round N (as `lips export --client K`)")
    parser.add_argument("--mkldnn", action="store_true", help="let PyTorch use oneDNN (faster, less exact)")
    parser.add_argument("--float64", action="store_true",
                        help="compute in float64 (models still saved as float32): shows how far float32 rounding alone moves a run")
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    dtype = torch.float64 if arguments.float64 else torch.float32
    # oneDNN's float32 convolutions drift further from exact arithmetic than the plain ones:
    # measured on a 4-client cnn run, 5e-4 relative from a float64 replay after one round,
    # against 1e-5 without it (and the engine's 3e-5).
    torch.backends.mkldnn.enabled = arguments.mkldnn

    config = read_config(os.path.join(arguments.run_dir, "config.yaml"))
    recorded = read_metrics(os.path.join(arguments.run_dir, "metrics.jsonl"))
    if config.get("shuffle", True):
        raise SystemExit("replay: the run must use `shuffle: false` (its batch order is not replayable otherwise)")
    split_path = arguments.split or config.get("split_file")
    init_path = arguments.init or config.get("init_from")
    if not split_path or not init_path:
        raise SystemExit("replay: the run must name split_file and init_from (or pass --split and --init)")
    split_path, init_path = resolve(split_path, arguments.run_dir), resolve(init_path, arguments.run_dir)
    # The files must be the ones the engine ran on (it records their SHA-256 in config.yaml).
    hashes = {path: sha256_of(path) for path in (split_path, init_path)}
    for path, key in ((split_path, "split_sha256"), (init_path, "init_sha256")):
        recorded_hash = config.get(key)
        if recorded_hash and hashes[path] != recorded_hash:
            raise SystemExit(f"replay: {path} is not the file the run used ({key} {recorded_hash[:12]}…, this file "
                             f"{hashes[path][:12]}…)")
    if config.get("global_test"):
        print("replay: global_test is not replayed (global_accuracy stays null)", file=sys.stderr)
    if config["bn"] not in ("received", "local"):
        raise SystemExit(f"replay: unknown bn mode {config['bn']!r}")
    if config["method"] == "lips" and config["criterion"] not in ("grad_weight", "weight"):
        raise SystemExit(f"replay: unknown criterion {config['criterion']!r}")
    try:
        federation.algorithm_settings(config)
    except ValueError as error:
        raise SystemExit(f"replay: {error}")

    with open(split_path) as handle:
        split = json.load(handle)
    (train_images, train_labels), (test_images, test_labels) = load_dataset(config)
    classes = int(split.get("classes", 10))
    K = int(config["clients"])
    if len(split["split"]) != K:
        raise SystemExit(f"replay: split has {len(split['split'])} clients, the config {K}")
    train_x = [model_inputs(train_images, c["train"], config, dtype) for c in split["split"]]
    train_y = [torch.from_numpy(train_labels[np.asarray(c["train"], dtype=np.int64)].astype(np.int64)) for c in split["split"]]
    test_x = [model_inputs(test_images, c["test"], config, dtype) for c in split["split"]]
    test_y = [torch.from_numpy(test_labels[np.asarray(c["test"], dtype=np.int64)].astype(np.int64)) for c in split["split"]]

    model = models.build(config["model"], classes, 32, 32).to(dtype)
    init = load_file(init_path)
    initial = {k: v.to(torch.float32).to(dtype) for k, v in init.items() if not k.endswith("num_batches_tracked")}
    expected = federation.float_state(model)
    if set(initial) != set(expected):
        raise SystemExit(f"replay: {init_path} does not hold exactly the model's tensors")
    for name in expected:
        if initial[name].shape != expected[name].shape:
            raise SystemExit(f"replay: {name} has shape {tuple(initial[name].shape)}, the model {tuple(expected[name].shape)}")
    run = federation.Federation(config, model, list(zip(train_x, train_y)), list(zip(test_x, test_y)), initial)

    total_rounds = int(config["rounds"])
    replay_rounds = arguments.rounds if arguments.rounds is not None else total_rounds
    if not 1 <= replay_rounds <= total_rounds:
        raise SystemExit(f"replay: --rounds must be in 1…{total_rounds} (the run's rounds)")
    eval_every = int(config.get("eval_every", 1))
    os.makedirs(arguments.out, exist_ok=True)
    # Resuming: the state after the last finished round, saved with what it was computed from.
    # What the state depends on: the config without its runtime keys (an engine resume may
    # change them), the files, and the arithmetic.
    identity = {"config": {k: v for k, v in config.items() if k not in RUNTIME_KEYS},
                "split": hashes[split_path], "init": hashes[init_path],
                "float64": arguments.float64, "mkldnn": arguments.mkldnn}
    state_path = os.path.join(arguments.out, STATE_FILE)
    rows, start = [], 0
    if os.path.exists(state_path):
        saved = torch.load(state_path, weights_only=False)
        if saved["identity"] != identity:
            raise SystemExit(f"replay: {arguments.out} holds the replay of another run; choose another --out or remove it")
        run.global_state, run.masks, run.grads, run.local_state, algorithm_state = unpack_state(saved["federation"], dtype)
        if algorithm_state is not None:
            run.load_algorithm_state(algorithm_state, dtype)
        elif run.control is not None or run.server_rule:
            raise SystemExit(f"replay: {state_path} predates the algorithms and cannot resume this run; remove it")
        rows, start = saved["rows"], saved["round"] + 1
        print(f"replay: resuming {arguments.out} at round {start}", file=sys.stderr)
    for r in range(start, replay_rounds):
        selected = federation.participants(config, r)
        row_recorded = recorded.get(r)
        if row_recorded is not None and row_recorded.get("clients") is not None and row_recorded["clients"] != selected:
            raise SystemExit(f"replay: round {r}: the run trained clients {row_recorded['clients']}, "
                             f"semantics §8 draws {selected}")
        row = run.run_round(r, selected, evaluate=r % eval_every == 0 or r == total_rounds - 1)
        row.pop("personal_each")
        row.pop("dense_each")
        rows.append(row)
        save_global(run.global_state, os.path.join(arguments.out, f"global-r{r}.safetensors"))
        if arguments.save_received:
            for k in range(K):
                save_global(run.received(k), os.path.join(arguments.out, f"client{k}-r{r}.safetensors"))
        write_atomically(os.path.join(arguments.out, "metrics.jsonl"),
                         lambda path: open(path, "w").write("".join(json.dumps(json_safe(row)) + "\n" for row in rows)))
        write_atomically(state_path, lambda path: torch.save(
            {"identity": identity, "round": r, "rows": rows,
             "federation": pack_state(run)}, path))
        print(json.dumps({key: row[key] for key in ("round", "density", "train_loss", "personalized_accuracy", "dense_accuracy")}),
              file=sys.stderr)


if __name__ == "__main__":
    main()

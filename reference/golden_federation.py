"""The federated golden cases (op "federation"): a handful of clients on tiny images, a small
model, two or three rounds of the engine's protocol computed by federation.py.

A case holds the data (pixels as integers 0…255 and labels), the split in the split-file format,
the config (engine key names), the initial model (generated, see make_golden.py) and, after each
round r, PyTorch's global parameters and BN statistics (`rR/param:NAME`, `rR/buffer:NAME`), every
client's LIPS mask of every maskable tensor (`rR/mask:K:NAME`, 16 mask bits per stored float,
`"bits": 16`), per-client personalised and dense accuracies (`rR/personalized`, `rR/dense`, one
per client) and the train loss (`rR/train_loss`). The clients each round trains are in
`attrs.clients`, drawn as semantics §8 says (federation.participants): the engine must draw the
same ones.

Conditioning: a federation runs hundreds of ReLU and max-pool decisions per step and cuts masks at
a threshold; if a near-tie flips under float32 rounding, a mask bit or an accuracy changes and the
case measures luck. So, as for the model cases, a seed is rejected when a ReLU or max-pool near-tie
carries a sizeable gradient in the float64 run (make_golden.NearTies), and the federation is
computed in float64 (the stored reference), in float32, and in float32 again from starting weights
jittered by a few ulps; a seed is kept only if every run has the same masks and per-client
accuracies as the reference and its weights stay within MAX_FLOAT32_ERROR of the tolerance.
Masks make exact ties common: where every kept weight of a filter meets a zero input (ReLU,
padding), PyTorch's convolution gives exactly 0 at several positions, BN maps them to one value and
a max-pool window holds a tie; the engine's Winograd convolution gives ±1e-8 there instead, and
the tie breaks the other way. The NearTies check rejects such seeds.
"""
import numpy as np
import torch

import federation
import models
from make_golden import TIE_GRADIENT, Case, NearTies, generated, generated_state, tolerance_ratio, ulp_jitter

FEDERATION_TOLERANCE = (2e-3, 2e-4)
MAX_FLOAT32_ERROR = 0.25
FLOAT32_VARIANTS = 4
MASK_BITS = 16
# Large tensors are stored as every k-th element, at most this many per tensor.
MAX_SAMPLES = 2048

BASE_CONFIG = {
    "dataset": "synthetic", "model": "cnn", "partition": "iid", "alpha": 0.1,
    "clients": 4, "train_num": 12, "test_num": 8, "rounds": 3,
    "local_epochs": 2, "batch_size": 4, "shuffle": False,
    "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4,
    "method": "fedavg", "update_d": 0.5, "update_freq": 1, "horizon": 6, "criterion": "grad_weight",
    "bn": "received", "grad_precision": "fp16", "participation": 1.0,
    "eval_every": 1, "seed": 2,
}
CLASSES = 4
IMAGE = (3, 8, 8)


def synthetic_data(generator, count):
    """`count` images of IMAGE as integers 0…255 with a class-dependent pattern, and labels."""
    patterns = torch.randint(0, 2, (CLASSES,) + IMAGE, generator=generator).to(torch.float64) * 2 - 1
    labels = torch.randint(0, CLASSES, (count,), generator=generator)
    noise = torch.randn((count,) + IMAGE, generator=generator, dtype=torch.float64)
    pixels = (128 + 50 * patterns[labels] + 40 * noise).round().clamp(0, 255)
    return pixels, labels


def skewed_split(generator, labels, count, clients):
    """Per client `count` indices, mostly from its two favourite classes (a non-IID split)."""
    by_class = [torch.nonzero(labels == c).flatten().tolist() for c in range(CLASSES)]
    split = []
    for k in range(clients):
        favourite = [k % CLASSES, (k + 1) % CLASSES]
        chosen = []
        for _ in range(count):
            use = favourite if torch.rand(1, generator=generator).item() < 0.8 else list(range(CLASSES))
            cls = use[int(torch.randint(0, len(use), (1,), generator=generator))]
            pool = by_class[cls] or [i for c in by_class for i in c]
            chosen.append(pool[int(torch.randint(0, len(pool), (1,), generator=generator))])
        split.append(chosen)
    return split


def pack_bits(mask):
    """A 0/1 tensor as floats holding MASK_BITS bits each (bit i of float j: element j·16 + i)."""
    flat = mask.reshape(-1).to(torch.int64)
    padded = torch.zeros(-(-flat.numel() // MASK_BITS) * MASK_BITS, dtype=torch.int64)
    padded[:flat.numel()] = flat
    weights = 2 ** torch.arange(MASK_BITS, dtype=torch.int64)
    return (padded.view(-1, MASK_BITS) * weights).sum(1).to(torch.float64)


def build_federation(config, specs, data, split, dtype, jitter=None, server_rule=None):
    """federation.Federation on a case's data, split and initial model, in `dtype`."""
    train_pixels, train_labels, test_pixels, test_labels = data
    model = models.build(config["model"], CLASSES, IMAGE[1], IMAGE[2]).to(dtype)
    init = {}
    for key, (shape, spec) in specs.items():
        value = generated(shape, spec["seed"], spec["offset"], spec["scale"])
        init[key.split(":", 1)[1]] = (value if jitter is None else ulp_jitter(value, jitter)).to(dtype)

    def inputs(pixels, indices):
        # As the engine: x / 255 in float32 (no normalisation in these cases).
        return (pixels[indices].to(torch.float32) / 255.0).to(dtype)

    train = [(inputs(train_pixels, c["train"]), train_labels[c["train"]]) for c in split]
    test = [(inputs(test_pixels, c["test"]), test_labels[c["test"]]) for c in split]
    return federation.Federation(config, model, train, test, init, server_rule=server_rule)


def run_federation(config, specs, data, split, dtype, jitter=None, keep=None, server_rule=None):
    """The federation's rounds in `dtype`: per round the global state, masks, accuracies, loss.
    `keep` (a list) receives the Federation; `server_rule` forces the server SGD on or off (checks)."""
    run = build_federation(config, specs, data, split, dtype, jitter, server_rule)
    if keep is not None:
        keep.append(run)
    rounds = []
    for r in range(int(config["rounds"])):
        row = run.run_round(r, federation.participants(config, r))
        masks = {}
        for k in range(len(split)):
            if run.masks[k] is not None:
                for name, mask in run.masks[k].items():
                    masks[f"{k}:{name}"] = mask.clone()
        rounds.append({"state": {n: t.clone() for n, t in run.global_state.items()}, "masks": masks,
                       "personalized": torch.tensor(row["personal_each"], dtype=torch.float64),
                       "dense": torch.tensor(row["dense_each"], dtype=torch.float64),
                       "train_loss": torch.tensor([row["train_loss"]], dtype=torch.float64),
                       "clients": row["clients"]})
    return rounds


def discrete_differences(a, b):
    """Where two runs differ in a mask or a per-client accuracy (must never happen)."""
    for r, (x, y) in enumerate(zip(a, b)):
        if set(x["masks"]) != set(y["masks"]):
            return f"round {r}: different clients masked"
        for key in x["masks"]:
            flips = int((x["masks"][key] != y["masks"][key]).sum())
            if flips:
                return f"round {r}: {flips} bits of mask {key} differ"
        for key in ("personalized", "dense"):
            if not torch.equal(x[key], y[key]):
                return f"round {r}: {key} accuracies differ"
    return None


def weight_error(run, reference):
    worst = 0.0
    for x, y in zip(run, reference):
        for name in y["state"]:
            worst = max(worst, tolerance_ratio(x["state"][name], y["state"][name], *FEDERATION_TOLERANCE))
        worst = max(worst, tolerance_ratio(x["train_loss"], y["train_loss"], *FEDERATION_TOLERANCE))
    return worst


def case_inputs(config, attempt, train_count=40, test_count=24):
    """The draws of seed `attempt`: (generator, initial-model specs, data, split). The generator
    goes on to jitter the float32 variants."""
    template = models.build(config["model"], CLASSES, IMAGE[1], IMAGE[2])
    clients = int(config["clients"])
    gen = torch.Generator().manual_seed(attempt)
    train_pixels, train_labels = synthetic_data(gen, train_count)
    test_pixels, test_labels = synthetic_data(gen, test_count)
    train_split = skewed_split(gen, train_labels, int(config["train_num"]), clients)
    test_split = skewed_split(gen, test_labels, int(config["test_num"]), clients)
    split = [{"client": k, "train": train_split[k], "test": test_split[k]} for k in range(clients)]
    specs = generated_state(template, int(torch.randint(1, 1 << 20, (1,), generator=gen)))
    return gen, specs, (train_pixels, train_labels, test_pixels, test_labels), split


def federation_case(out, name, overrides, seed, train_count=40, test_count=24):
    config = dict(BASE_CONFIG, **overrides)
    federation.algorithm_settings(config)   # a config the engine refuses is not a case
    template = models.build(config["model"], CLASSES, IMAGE[1], IMAGE[2])
    params = [n for n, _ in template.named_parameters()]
    buffers = [n for n, _ in template.named_buffers() if not n.endswith("num_batches_tracked")]
    clients = int(config["clients"])
    for attempt in range(seed, seed + 300):
        gen, specs, data, split = case_inputs(config, attempt, train_count, test_count)
        train_pixels, train_labels, test_pixels, test_labels = data
        with NearTies() as ties:
            reference = run_federation(config, specs, data, split, torch.float64)
        if ties.worst > TIE_GRADIENT:
            print(f"{name}: seed {attempt}: a near-tie passes {ties.worst:.3g} of its tensor's largest gradient, next")
            continue
        float32 = run_federation(config, specs, data, split, torch.float32)
        problem = discrete_differences(float32, reference)
        spread = weight_error(float32, reference)
        for _ in range(FLOAT32_VARIANTS):
            if problem or spread > MAX_FLOAT32_ERROR:
                break
            variant = run_federation(config, specs, data, split, torch.float32, jitter=gen)
            problem = discrete_differences(variant, reference)
            spread = max(spread, weight_error(variant, reference))
        if not problem and spread <= MAX_FLOAT32_ERROR:
            break
        print(f"{name}: seed {attempt}: {problem or f'float32 lands {spread:.3g} of tolerance away'}, next")
    else:
        raise SystemExit(f"{name}: no well-conditioned seed in 300 tries")

    split_file = {"format": "lips-split", "dataset": config["dataset"], "train_size": train_count,
                  "test_size": test_count, "classes": CLASSES, "clients": clients,
                  "train_num": int(config["train_num"]), "test_num": int(config["test_num"]), "split": split}
    attrs = {"config": config, "classes": CLASSES, "image_shape": list(IMAGE), "split": split_file,
             "clients": [row["clients"] for row in reference], "params": params, "buffers": buffers,
             "mask_bits": MASK_BITS, "seed": attempt, "float32_variants_error": round(spread, 6)}
    case = Case(name, "federation", attrs, FEDERATION_TOLERANCE)
    case.generated = specs
    case.store("train_pixels", train_pixels)
    case.store("train_labels", train_labels.to(torch.float64))
    case.store("test_pixels", test_pixels)
    case.store("test_labels", test_labels.to(torch.float64))
    float32_results = {}
    for r, (row, row32) in enumerate(zip(reference, float32)):
        for n in params:
            key = f"r{r}/param:{n}"
            _store_result(case, key, row["state"][n])
            float32_results[key] = row32["state"][n]
        for n in buffers:
            key = f"r{r}/buffer:{n}"
            _store_result(case, key, row["state"][n])
            float32_results[key] = row32["state"][n]
        for key in ("personalized", "dense", "train_loss"):
            case.result(f"r{r}/{key}", row[key])
            float32_results[f"r{r}/{key}"] = row32[key]
        for key, mask in row["masks"].items():
            case.store(f"r{r}/mask:{key}", pack_bits(mask))
            case.bits[f"r{r}/mask:{key}"] = (list(mask.shape), MASK_BITS)
    case.write(out, float32_results)


def _store_result(case, key, tensor):
    n = tensor.numel()
    stride = -(-n // MAX_SAMPLES) if n > MAX_SAMPLES else 1
    case.store(key, tensor, stride)
    case.checked[key] = stride


def write_cases(out):
    # The starting seeds are where the search for a well-conditioned case begins (federation_case).
    federation_case(out, "federation_fedavg", {}, 1000)
    federation_case(out, "federation_lips_bn_received", {"method": "lips"}, 2000)
    federation_case(out, "federation_lips_bn_local", {"method": "lips", "bn": "local"}, 3000)
    federation_case(out, "federation_lips_partial", {"method": "lips", "clients": 6, "participation": 0.5,
                                                     "grad_precision": "fp32"}, 4000)
    federation_case(out, "federation_fedavg_bn_local", {"bn": "local"}, 5000)
    federation_case(out, "federation_lips_weight_every2", {"method": "lips", "criterion": "weight", "update_freq": 2}, 6000)
    # Aggregation in blocks (§5): 6 clients in three blocks of 2, the block sums added in order.
    federation_case(out, "federation_fedavg_blocks", {"clients": 6, "aggregation_block": 2}, 7000)
    for name, overrides, seed in BASELINE_CASES:
        federation_case(out, name, overrides, seed)


# The FL baselines (docs/semantics.md §12): FedProx, SCAFFOLD, FedAvgM, the server rule.
BASELINE_CASES = [
    ("federation_fedprox", {"algorithm": "fedprox", "mu": 0.1}, 8000),
    # 6 clients, 3 a round: clients that have not trained keep c_k = 0, and c takes 1/6 of each Δc_k.
    ("federation_scaffold", {"algorithm": "scaffold", "clients": 6, "participation": 0.5, "local_epochs": 2}, 9000),
    ("federation_fedavgm", {"algorithm": "fedavgm", "server_lr": 1.0, "server_momentum": 0.9}, 10000),
    ("federation_lips_fedprox", {"method": "lips", "update_freq": 1, "algorithm": "fedprox", "mu": 0.1}, 11000),
    ("federation_lips_scaffold_bn_local", {"method": "lips", "update_freq": 1, "algorithm": "scaffold", "bn": "local"}, 12000),
    ("federation_scaffold_server_lr", {"algorithm": "scaffold", "server_lr": 0.5, "server_momentum": 0.0}, 13000),
]

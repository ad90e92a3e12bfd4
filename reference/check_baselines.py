#!/usr/bin/env python3
"""Self-consistency checks of federation.py's FL baselines (docs/semantics.md §12): FedProx,
SCAFFOLD, the server rule (FedAvgM). Run from the repository root with the reference environment:

    python reference/check_baselines.py [--golden Tests/Golden]

On the small federations of golden_federation.py (synthetic 3x8x8 images, the cnn, 3 rounds):

1. identities that must hold bit for bit in float32: FedProx with mu 0 is FedAvg (also under
   LIPS); SCAFFOLD's round 0 (c = c_k = 0) is FedAvg's round 0; fedavgm's server rule written out
   (v ← m·v + (x − x̄), x ← x − lr·v in plain float32 tensor operations) is the torch.optim.SGD the
   federation steps;
2. the server SGD forced on at server_lr 1, momentum 0 (x − (x − x̄)) against the FedAvg sum x̄
   itself, which it equals only up to rounding (the reason the rule is skipped there);
3. in float64: SCAFFOLD's c stays the mean of all N clients' c_k (option II keeps c = (1/N)·Σ c_k
   when both start at 0); FedProx's gradient term is the gradient of (mu/2)·‖w − a‖²;
4. per golden case of the baselines (the seed recorded in its JSON): how far float32 lands from
   float64 (relative L2 of all global parameters, per round, and the worst entry in units of the
   case's tolerance), and how far the case is from the same federation with the baseline switched
   off (plain FedAvg), and for SCAFFOLD with partial participation from c updated with 1/|S|
   instead of 1/N: in units of the tolerance, so a missing or misplaced term fails the golden test.
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import federation  # noqa: E402
import golden_federation as g  # noqa: E402
import models  # noqa: E402
from make_golden import tolerance_ratio  # noqa: E402

failures = []


def report(ok, text):
    print(("ok    " if ok else "FAIL  ") + text, flush=True)
    if not ok:
        failures.append(text)


def config_of(overrides):
    return dict(g.BASE_CONFIG, **overrides)


def run(overrides, seed, dtype=torch.float32, keep=None, server_rule=None):
    config = config_of(overrides)
    _, specs, data, split = g.case_inputs(config, seed)
    return g.run_federation(config, specs, data, split, dtype, keep=keep, server_rule=server_rule)


def bitwise_equal(a, b, rounds=None):
    """Where two runs' rounds differ (global state, masks, accuracies, loss), or None."""
    for r, (x, y) in enumerate(zip(a, b)):
        if rounds is not None and r not in rounds:
            continue
        for name in y["state"]:
            if not torch.equal(x["state"][name], y["state"][name]):
                return f"round {r}: {name}"
        if set(x["masks"]) != set(y["masks"]) or any(not torch.equal(x["masks"][k], y["masks"][k]) for k in x["masks"]):
            return f"round {r}: masks"
        for key in ("personalized", "dense", "train_loss"):
            if not torch.equal(x[key], y[key]):
                return f"round {r}: {key}"
    return None


def params_of(config):
    template = models.build(config["model"], g.CLASSES, g.IMAGE[1], g.IMAGE[2])
    return [n for n, _ in template.named_parameters()]


def relative_l2(a, b, names):
    num = sum(float(((a[n].double() - b[n].double()) ** 2).sum()) for n in names)
    den = sum(float((b[n].double() ** 2).sum()) for n in names)
    return (num / den) ** 0.5


def worst_ratio(a, b, rounds=None):
    worst = 0.0
    for r, (x, y) in enumerate(zip(a, b)):
        if rounds is not None and r not in rounds:
            continue
        for name in y["state"]:
            worst = max(worst, tolerance_ratio(x["state"][name], y["state"][name], *g.FEDERATION_TOLERANCE))
    return worst


def identities():
    print("1. identities (float32, bitwise)")
    for extra, seed in (({}, 8000), ({"method": "lips"}, 11000), ({"bn": "local", "method": "lips"}, 12000)):
        fedavg = run(dict(extra), seed)
        prox = run(dict(extra, algorithm="fedprox", mu=0.0), seed)
        problem = bitwise_equal(prox, fedavg)
        report(problem is None, f"fedprox mu 0 == fedavg {extra or ''}: {problem or 'all rounds, states, masks, accuracies, loss'}")
    for extra, seed in (({"clients": 6, "participation": 0.5}, 9000), ({"method": "lips", "bn": "local"}, 12000)):
        fedavg = run(dict(extra), seed)
        scaffold = run(dict(extra, algorithm="scaffold"), seed)
        problem = bitwise_equal(scaffold, fedavg, rounds={0})
        later = bitwise_equal(scaffold, fedavg)
        report(problem is None and later is not None,
               f"scaffold round 0 == fedavg round 0 {extra}: {problem or 'equal'}; later rounds differ: {later}")
    # fedavgm: the server SGD against the rule written out in float32 tensor operations.
    for lr, momentum in ((1.0, 0.9), (0.5, 0.0), (0.5, 0.9)):
        overrides = {"algorithm": "fedavgm" if momentum > 0 else "fedavg", "server_lr": lr, "server_momentum": momentum}
        config = config_of(overrides)
        _, specs, data, split = g.case_inputs(config, 10000)
        fed = g.build_federation(config, specs, data, split, torch.float32)
        v, same = None, True
        for r in range(int(config["rounds"])):
            x = {n: fed.global_state[n].clone() for n in fed.param_names}
            fed.run_round(r, federation.participants(config, r))
            for n in fed.param_names:
                d = x[n] - fed.last_average[n]
                if v is None:
                    v = {}
                v[n] = d.clone() if n not in v else torch.tensor(momentum, dtype=torch.float32) * v[n] + d
                want = x[n] - torch.tensor(lr, dtype=torch.float32) * v[n]
                same = same and torch.equal(want, fed.global_state[n])
        report(same, f"server SGD == v ← m·v + (x − x̄), x ← x − lr·v written out (server_lr {lr}, momentum {momentum}), 3 rounds")
    fedavg = run({}, 10000)
    forced = run({}, 10000, server_rule=True)
    params = params_of(config_of({}))
    for r in range(3):
        diff = max(float((forced[r]["state"][n] - fedavg[r]["state"][n]).abs().max() /
                         fedavg[r]["state"][n].abs().max()) for n in params)
        equal = sum(int((forced[r]["state"][n] == fedavg[r]["state"][n]).sum()) for n in params)
        total = sum(fedavg[r]["state"][n].numel() for n in params)
        print(f"      server SGD forced on at lr 1, momentum 0, round {r}: {equal}/{total} parameters bitwise x̄, "
              f"worst difference {diff:.2g} of the tensor's largest value (why the rule is skipped there)")


def float64_invariants():
    print("2. float64 invariants")
    for overrides, seed in (({"algorithm": "scaffold", "clients": 6, "participation": 0.5}, 9000),
                            ({"algorithm": "scaffold", "method": "lips", "bn": "local"}, 12000)):
        keep = []
        config = config_of(overrides)
        _, specs, data, split = g.case_inputs(config, seed)
        fed = g.build_federation(config, specs, data, split, torch.float64)
        worst = 0.0
        for r in range(int(config["rounds"])):
            fed.run_round(r, federation.participants(config, r))
            for n in fed.param_names:
                mean = sum((c[n] for c in fed.client_control if c is not None), torch.zeros_like(fed.control[n])) / fed.K
                scale = float(fed.control[n].abs().max()) or 1.0
                worst = max(worst, float((mean - fed.control[n]).abs().max()) / scale)
        report(worst < 1e-12, f"scaffold c == (1/N)·Σ_k c_k {overrides}: worst {worst:.2g} relative, 3 rounds")
    # FedProx: mu·(w − a) is the gradient of (mu/2)·‖w − a‖².
    torch.manual_seed(0)
    model = models.build("cnn", g.CLASSES, g.IMAGE[1], g.IMAGE[2]).double()
    anchor = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    mu = 0.1
    x = torch.rand(4, *g.IMAGE, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3])
    model.train()
    loss = F.cross_entropy(model(x), y) + mu / 2 * sum(((p - anchor[n]) ** 2).sum() for n, p in model.named_parameters())
    loss.backward()
    autograd = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    worst = max(float((p.grad + mu * (p.detach() - anchor[n]) - autograd[n]).abs().max()) for n, p in model.named_parameters())
    report(worst < 1e-12, f"fedprox: ∇f + mu·(w − a) == ∇[f + (mu/2)·‖w − a‖²]: worst {worst:.2g}")


def cases(golden):
    print("3. the golden cases: float32 against float64, and against the baseline switched off")
    for name, overrides, _ in g.BASELINE_CASES:
        path = os.path.join(golden, name + ".json")
        if not os.path.exists(path):
            print(f"      {name}: no {path}, skipped")
            continue
        with open(path) as handle:
            attrs = json.load(handle)["attrs"]
        config = config_of(overrides)
        if attrs["config"] != config:
            report(False, f"{name}: the JSON's config is not golden_federation.py's")
            continue
        seed = attrs["seed"]
        params = params_of(config)
        ref = run(overrides, seed, torch.float64)
        f32 = run(overrides, seed, torch.float32)
        rel = [relative_l2(f32[r]["state"], ref[r]["state"], params) for r in range(len(ref))]
        print(f"      {name} (seed {seed}): float32 vs float64 relative L2 per round "
              f"{', '.join(f'{x:.2g}' for x in rel)}; worst entry {worst_ratio(f32, ref):.3g} of the tolerance")
        off = {k: v for k, v in overrides.items() if k not in ("algorithm", "mu", "server_lr", "server_momentum")}
        plain = run(off, seed, torch.float64)
        per_round = [worst_ratio(ref, plain, rounds={r}) for r in range(len(ref))]
        print(f"      {name}: plain FedAvg of the same seed is {', '.join(f'{x:.3g}' for x in per_round)} tolerances away (per round)")
        if overrides.get("algorithm") == "scaffold" and config.get("participation", 1.0) < 1:
            original = federation.block_sum_weighted

            def participants_only(states, weights, clients, block):
                # SCAFFOLD's call passes 1/N; the mistake would pass 1/|S|.
                if weights and weights[0] == 1.0 / int(config["clients"]):
                    weights = [1.0 / len(weights)] * len(weights)
                return original(states, weights, clients, block)

            federation.block_sum_weighted = participants_only
            try:
                wrong = run(overrides, seed, torch.float64)
            finally:
                federation.block_sum_weighted = original
            per_round = [worst_ratio(ref, wrong, rounds={r}) for r in range(len(ref))]
            print(f"      {name}: c updated with 1/|S| instead of 1/N is {', '.join(f'{x:.3g}' for x in per_round)} tolerances away")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--golden", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Golden"))
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    identities()
    float64_invariants()
    cases(arguments.golden)
    if failures:
        raise SystemExit(f"{len(failures)} checks failed")
    print("all checks passed")


if __name__ == "__main__":
    main()

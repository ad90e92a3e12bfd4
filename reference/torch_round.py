#!/usr/bin/env python3
"""Times federated rounds in plain PyTorch, for comparison with `lips bench round`.

The workload is the one `lips bench round` times: synthetic 3x32x32 images, every client trains
`--local-epochs` epochs over its `--train-num` samples in batches of `--batch` with a fresh SGD
optimizer, the server averages the clients' models (parameters and BN statistics, weighted by
sample count), and every client's model is scored on its `--test-num` test images. With
`--method lips`, rounds r with r % update_freq == 0 are masking rounds: after averaging, each
client receives the global model with every conv weight but the stem's cut to the top
floor(n*d) entries of |g*w| (g its last-step gradient, kept in fp16), and each client's own
masked model is scored. With `--bn local` every client keeps its BN weights, biases and running
statistics (and every other bias) from its last training and gets them back on top of what it
receives (docs/semantics.md §7). What is measured is the straightforward PyTorch way of doing this: one
model instance, `load_state_dict` per client, every client's test images scored separately.

One JSON object per round on stdout: round, method, density, round_s (the whole round), train_s
(local training and the weighted sum), mask_s (LIPS only: cutting the masks), eval_s, acc
(mean client accuracy) and train_loss. Setup details go to stderr.

    python3 reference/torch_round.py --model resnet8 --method fedavg --clients 100 --rounds 3 --threads 2

The environment is reference/requirements.txt (`make reference-env`).
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402

CLASSES = 10
POOL = 10_000  # synthetic images per split, shared by the clients (as `lips bench round`)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet8", choices=["resnet8", "vgg11bn"])
    parser.add_argument("--method", default="fedavg", choices=["fedavg", "lips"])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--local-epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--train-num", type=int, default=100)
    parser.add_argument("--test-num", type=int, default=400)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--update-d", type=float, default=0.5, help="LIPS density at round 0")
    parser.add_argument("--update-freq", type=int, default=5, help="LIPS masks every this many rounds")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--bn", default="received", choices=["received", "local"])
    arguments = parser.parse_args()
    if min(arguments.clients, arguments.rounds, arguments.threads, arguments.local_epochs, arguments.batch) < 1:
        parser.error("clients, rounds, threads, local epochs and batch must be at least 1")
    if not 1 <= arguments.train_num <= POOL or not 0 <= arguments.test_num <= POOL:
        parser.error(f"train-num must be in 1...{POOL} and test-num in 0...{POOL}")
    return arguments


def synthetic_pool(count, means, generator):
    """`count` images with class structure: their class's mean image plus uniform noise."""
    labels = torch.randint(0, CLASSES, (count,), generator=generator)
    noise = (torch.rand(count, 3, 32, 32, generator=generator) - 0.5) * 0.4
    return (means[labels] + noise).clamp_(0, 1), labels


def maskable_names(model):
    """Every conv weight except the first conv's (the stem), as docs/semantics.md §3 says."""
    convs = [name for name, module in model.named_modules() if isinstance(module, torch.nn.Conv2d)]
    return [name + ".weight" for name in convs[1:]]


def density(round_index, arguments):
    """The LIPS density after round `round_index`, or None when nothing is masked then."""
    if arguments.method != "lips" or round_index % arguments.update_freq != 0:
        return None
    d = min(1.0, arguments.update_d + (1 - arguments.update_d) * round_index / arguments.rounds)
    return d if d < 1 else None


def top_mask(score, d):
    """Boolean mask of the floor(n*d) largest entries of `score`."""
    flat = score.reshape(-1)
    keep = int(flat.numel() * d)
    mask = torch.zeros(flat.numel(), dtype=torch.bool)
    if keep > 0:
        mask[torch.topk(flat, keep, sorted=False).indices] = True
    return mask.view_as(score)


def received_state(global_state, masks, local=None):
    """The state a client receives: the global one, its maskable weights multiplied by its mask,
    its own BN state and biases laid over them with `--bn local`."""
    if masks is None and local is None:
        return global_state
    state = dict(global_state)
    for name, mask in (masks or {}).items():
        state[name] = global_state[name] * mask
    state.update(local or {})
    return state


def local_names(model):
    """What stays with a client under `bn: local`: every tensor but conv and linear weights."""
    weights = {name + ".weight" for name, module in model.named_modules()
               if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear))}
    return [name for name in model.state_dict() if name not in weights]


def train_client(model, images, labels, indices, arguments, generator):
    """Local SGD; returns (summed loss times batch size, samples) and the last step's gradients."""
    optimizer = torch.optim.SGD(model.parameters(), lr=arguments.lr, momentum=arguments.momentum)
    model.train()
    loss_sum, samples = 0.0, 0
    for _ in range(arguments.local_epochs):
        order = indices[torch.randperm(len(indices), generator=generator)]
        for start in range(0, len(order), arguments.batch):
            batch = order[start:start + arguments.batch]
            loss = F.cross_entropy(model(images[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(batch)
            samples += len(batch)
    return loss_sum, samples


@torch.no_grad()
def accuracy(model, images, labels, indices, batch):
    model.eval()
    correct = 0
    for start in range(0, len(indices), batch):
        chunk = indices[start:start + batch]
        correct += (model(images[chunk]).argmax(1) == labels[chunk]).sum().item()
    return correct / len(indices)


def main():
    arguments = parse_arguments()
    torch.set_num_threads(arguments.threads)
    torch.manual_seed(arguments.seed)
    generator = torch.Generator().manual_seed(arguments.seed)
    means = torch.rand(CLASSES, 3, 32, 32, generator=generator)
    train_images, train_labels = synthetic_pool(POOL, means, generator)
    test_images, test_labels = synthetic_pool(POOL, means, generator)
    train_indices = [torch.randperm(POOL, generator=generator)[:arguments.train_num] for _ in range(arguments.clients)]
    test_indices = [torch.randperm(POOL, generator=generator)[:arguments.test_num] for _ in range(arguments.clients)]

    model = models.build(arguments.model, CLASSES, 32, 32)
    maskable = maskable_names(model)
    global_state = {name: value.detach().clone() for name, value in model.state_dict().items()}
    masks = [None] * arguments.clients
    kept_locally = local_names(model) if arguments.bn == "local" else []
    local = [None] * arguments.clients
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "model": arguments.model,
                      "method": arguments.method, "bn": arguments.bn, "clients": arguments.clients,
                      "maskable": maskable}),
          file=sys.stderr, flush=True)

    # One untimed step and one evaluation batch first, so that one-time costs (allocator, kernel
    # selection) are not charged to round 0; a long run pays them once as well.
    model.train()
    F.cross_entropy(model(train_images[:arguments.batch]), train_labels[:arguments.batch]).backward()
    accuracy(model, test_images, test_labels, torch.arange(arguments.batch), arguments.batch)
    model.zero_grad(set_to_none=True)

    for round_index in range(arguments.rounds):
        started = time.perf_counter()
        d = density(round_index, arguments)
        summed = {name: torch.zeros_like(value) for name, value in global_state.items() if value.is_floating_point()}
        gradients = [None] * arguments.clients
        loss_sum, samples = 0.0, 0
        total = sum(len(indices) for indices in train_indices)
        for client in range(arguments.clients):
            model.load_state_dict(received_state(global_state, masks[client], local[client]))
            client_loss, client_samples = train_client(model, train_images, train_labels, train_indices[client],
                                                       arguments, generator)
            loss_sum, samples = loss_sum + client_loss, samples + client_samples
            if d is not None:
                parameters = dict(model.named_parameters())
                gradients[client] = {name: parameters[name].grad.detach().half() for name in maskable}
            weight = len(train_indices[client]) / total
            if kept_locally:
                state = model.state_dict()
                local[client] = {name: state[name].detach().clone() for name in kept_locally}
            for name, value in model.state_dict().items():
                if name in summed:
                    summed[name].add_(value, alpha=weight)
        global_state.update(summed)
        trained = time.perf_counter()

        if d is None:
            masks = [None] * arguments.clients
        else:
            masks = [{name: top_mask((gradients[client][name].float() * global_state[name]).abs_(), d)
                      for name in maskable} for client in range(arguments.clients)]
        masked = time.perf_counter()

        scores = []
        if arguments.test_num > 0:
            for client in range(arguments.clients):
                model.load_state_dict(received_state(global_state, masks[client], local[client]))
                scores.append(accuracy(model, test_images, test_labels, test_indices[client], arguments.batch))
        finished = time.perf_counter()

        row = {"round": round_index, "method": arguments.method, "bn": arguments.bn, "density": d if d is not None else 1.0,
               "round_s": round(finished - started, 3), "train_s": round(trained - started, 3)}
        if arguments.method == "lips":
            row["mask_s"] = round(masked - trained, 3)
        row.update({"eval_s": round(finished - masked, 3),
                    "acc": sum(scores) / len(scores) if scores else None,
                    "train_loss": loss_sum / samples})
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

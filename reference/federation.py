"""The engine's federated protocol in PyTorch, written from docs/semantics.md (§4–§9, §11).

`Federation` holds the clients' data, the global model and every client's server-side state
(last-step gradient, LIPS mask, local BN state) and runs one round at a time: local training of
the round's clients (§4, `shuffle: false`: batches are consecutive slices of the client's list),
FedAvg of parameters and BN running statistics (§5), LIPS masks on masking rounds (§6), the BN
modes (§7) and evaluation (§9). `participants` draws a round's clients as the engine does (§8).

The local algorithm (`algorithm`: fedavg, fedprox, scaffold, fedavgm) and the server rule
(`server_lr`, `server_momentum`) are docs/semantics.md §12: FedProx's proximal term and
SCAFFOLD's control variates modify each step's gradient before the optimizer sees it; the server
turns the FedAvg sum into a pseudo-gradient step with momentum unless server_lr is 1 and
server_momentum 0 (then the global model is the FedAvg sum itself, as before).

Used by replay.py (a whole engine run, from its folder) and golden_federation.py (the federated
golden cases of Tests/Golden). `config` is a dict with the engine's key names.
"""
import math
import time

import torch
import torch.nn.functional as F

MASK64 = (1 << 64) - 1
ALGORITHMS = ("fedavg", "fedprox", "scaffold", "fedavgm")


def algorithm_settings(config):
    """(algorithm, mu, server_lr, server_momentum) with the engine's defaults (fedavg, 0.01, 1.0,
    0.0); a value the engine refuses raises ValueError with a one-line message."""
    algorithm = config.get("algorithm") or "fedavg"
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r} (fedavg, fedprox, scaffold or fedavgm)")
    def value(key, default):
        given = config.get(key)
        return float(default if given is None else given)

    mu, server_lr, server_momentum = value("mu", 0.01), value("server_lr", 1.0), value("server_momentum", 0.0)
    if not (math.isfinite(mu) and mu >= 0):
        raise ValueError(f"mu must be a finite number >= 0, not {mu}")
    if not (math.isfinite(server_lr) and server_lr > 0):
        raise ValueError(f"server_lr must be a finite number > 0, not {server_lr}")
    if not 0 <= server_momentum < 1:
        raise ValueError(f"server_momentum must be in [0, 1), not {server_momentum}")
    if algorithm == "fedavgm" and server_momentum <= 0:
        raise ValueError("algorithm fedavgm needs server_momentum > 0")
    return algorithm, mu, server_lr, server_momentum


# ---------------------------------------------------------------- random draws (§8, §11)

class RandomStream:
    """The stream (seed, purpose) of semantics §11: xoshiro256** seeded with four SplitMix64
    outputs started from seed XOR FNV-1a(purpose)."""

    def __init__(self, seed, purpose):
        h = 0xCBF29CE484222325
        for byte in purpose.encode():
            h = ((h ^ byte) * 0x100000001B3) & MASK64
        self.mix = (seed ^ h) & MASK64
        self.state = [self._splitmix() for _ in range(4)]

    def _splitmix(self):
        self.mix = (self.mix + 0x9E3779B97F4A7C15) & MASK64
        z = self.mix
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    @staticmethod
    def _rotate(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK64

    def next(self):
        s = self.state
        result = (self._rotate((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotate(s[3], 45)
        return result

    def next_int(self, bound):
        """Uniform in 0..<bound by Lemire's multiply-and-reject."""
        product = self.next() * bound
        low = product & MASK64
        if low < bound:
            threshold = ((1 << 64) - bound) % bound
            while low < threshold:
                product = self.next() * bound
                low = product & MASK64
        return product >> 64


def participants(config, r):
    """The clients that train in round r (§8): all, or the first c of a partial Fisher–Yates
    shuffle from the stream "participation/round r", sorted."""
    clients = int(config["clients"])
    fraction = float(config.get("participation", 1.0))
    if fraction >= 1.0:
        return list(range(clients))
    count = max(1, int(math.floor(fraction * clients + 0.5)))   # half away from zero (positive)
    stream = RandomStream(int(config["seed"]), f"participation/round {r}")
    order = list(range(clients))
    for i in range(count):
        j = i + stream.next_int(clients - i)
        order[i], order[j] = order[j], order[i]
    return sorted(order[:count])


# ---------------------------------------------------------------- LIPS (§6)

def lips_density(config, r):
    """The density d_r of the masks sent after round r, or None when round r sends none."""
    if config["method"] != "lips":
        return None
    if r % int(config["update_freq"]) != 0:
        return None
    d0 = float(config["update_d"])
    horizon = config.get("horizon") or config["rounds"]
    d = min(1.0, d0 + (1.0 - d0) * r / horizon)
    return d if d < 1.0 else None


def top_mask(score, d):
    """0/1 of score's shape: the floor(n·d) largest scores kept, lower index first among equals."""
    flat = score.reshape(-1)
    n = flat.numel()
    keep = min(n, int(math.floor(n * d)))
    mask = torch.zeros(n, dtype=score.dtype)
    if keep > 0:
        order = torch.sort(flat, descending=True, stable=True).indices
        mask[order[:keep]] = 1.0
    return mask.view_as(score)


# ---------------------------------------------------------------- model state

def weight_names(model):
    """Convolution and linear weights in parameter order (the tensors whose gradients §4 keeps)."""
    convs, linears = [], []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Conv2d):
            convs.append(name + ".weight")
        elif isinstance(module, torch.nn.Linear):
            linears.append(name + ".weight")
    return convs, linears


def float_state(model):
    """The state_dict without `num_batches_tracked`, cloned."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def fedavg(states, counts, clients, block):
    """Σ_k (n_k / Σ n_j)·θ_k in the states' precision (§5): the clients (increasing indices) in
    blocks of `block` consecutive indices, each block's sum from zeros in client order; the total is
    the first block's sum, then each later block's sum added in block order."""
    total = float(sum(counts))
    return block_sum_weighted(states, [count / total for count in counts], clients, block)


def block_sum_weighted(states, weights, clients, block):
    """Σ_k w_k·θ_k, each Python-float weight rounded to the states' dtype, in fedavg's order."""
    result, block_sum, open_block = None, None, None

    def close():
        nonlocal result
        if block_sum is None:
            return
        if result is None:
            result = {name: tensor.clone() for name, tensor in block_sum.items()}
        else:
            for name in result:
                result[name] += block_sum[name]

    for state, share, client in zip(states, weights, clients):
        if client // block != open_block:
            close()
            block_sum = {name: torch.zeros_like(tensor) for name, tensor in state.items()}
            open_block = client // block
        for name in block_sum:
            weight = torch.tensor(share, dtype=torch.float64).to(state[name].dtype)
            block_sum[name] += weight * state[name]
    close()
    return result


@torch.no_grad()
def correct_count(model, state, x, y, batch):
    model.load_state_dict(state, strict=False)
    model.eval()
    correct = 0
    for start in range(0, x.shape[0], batch):
        correct += int((model(x[start:start + batch]).argmax(1) == y[start:start + batch]).sum().item())
    return correct


# ---------------------------------------------------------------- the federation

class Federation:
    """A federation in memory. `train`, `test`: per client (x, y), x already the model's input
    in the federation's dtype; `init`: the initial global state_dict (no num_batches_tracked)."""

    def __init__(self, config, model, train, test, init, server_rule=None):
        self.config, self.model = config, model
        self.train, self.test = train, test
        self.K = len(train)
        convs, linears = weight_names(model)
        self.maskable = convs[1:]
        self.tracked = convs + linears
        weights = set(convs + linears)
        self.global_state = {name: tensor.clone() for name, tensor in init.items()}
        self.local_names = [name for name in self.global_state if name not in weights]
        self.fp16 = config.get("grad_precision", "fp16") == "fp16"
        self.masks = [None] * self.K         # per client: {name: 0/1 tensor}, or None (dense)
        self.grads = [None] * self.K         # per client: last-step gradient of the tracked tensors
        self.local_state = [None] * self.K   # per client, bn local: its BN tensors and biases
        # The algorithm (docs/semantics.md §12). Parameters: every tensor of
        # model.parameters() (BN weights and biases included), never the BN running statistics.
        self.algorithm, self.mu, self.server_lr, self.server_momentum = algorithm_settings(config)
        self.param_names = [name for name, _ in model.named_parameters()]
        scaffold = self.algorithm == "scaffold"
        # SCAFFOLD: the server's control variate c and each client's c_k (None: zero, never trained).
        self.control = {name: torch.zeros_like(self.global_state[name]) for name in self.param_names} if scaffold else None
        self.client_control = [None] * self.K
        # The server rule: skipped (the global model is the FedAvg sum) when server_lr is 1 and
        # server_momentum 0; otherwise a torch.optim.SGD over copies of the global parameters whose
        # gradient is x − x̄, stepped once per round, its momentum buffers kept across rounds.
        self.server_rule = not (self.server_lr == 1.0 and self.server_momentum == 0.0)
        if server_rule is not None:
            self.server_rule = server_rule   # checks only: the SGD path even at lr 1, momentum 0
        self.server_params = {name: self.global_state[name].clone() for name in self.param_names}
        self.server_optimizer = torch.optim.SGD(list(self.server_params.values()), lr=self.server_lr,
                                                momentum=self.server_momentum) if self.server_rule else None
        self.round_deltas = {}               # SCAFFOLD: Δc_k of the clients trained this round

    # ------------------------------------------------------------ algorithm state (replay resume)

    def algorithm_state(self):
        """What the algorithms carry across rounds: c, every c_k, the server's momentum buffers."""
        buffers = None
        if self.server_optimizer is not None:
            buffers = {}
            for name, p in self.server_params.items():
                buffer = self.server_optimizer.state.get(p, {}).get("momentum_buffer")
                buffers[name] = None if buffer is None else buffer.clone()
        return {"control": self.control, "client_control": self.client_control, "server_momentum_buffers": buffers}

    def load_algorithm_state(self, saved, dtype):
        def cast(d):
            return None if d is None else {name: t.to(dtype) for name, t in d.items()}
        self.control = cast(saved["control"])
        self.client_control = [cast(d) for d in saved["client_control"]]
        buffers = saved["server_momentum_buffers"]
        if (buffers is None) != (self.server_optimizer is None):
            raise ValueError("the saved state's server rule does not match the config")
        if buffers is not None:
            for name, buffer in buffers.items():
                if buffer is not None:
                    self.server_optimizer.state[self.server_params[name]]["momentum_buffer"] = buffer.to(dtype).clone()

    def received(self, k):
        """The model client k receives (§6, §7)."""
        state = dict(self.global_state)
        if self.masks[k] is not None:
            for name, mask in self.masks[k].items():
                state[name] = self.global_state[name] * mask
        if self.config["bn"] == "local" and self.local_state[k] is not None:
            state.update(self.local_state[k])
        return state

    def train_client(self, k):
        """Local training of client k from what it received (§4, shuffle false)."""
        config, model = self.config, self.model
        model.load_state_dict(self.received(k), strict=False)
        model.train()
        lr = float(config["lr"])
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=float(config["momentum"]),
                                    weight_decay=float(config["weight_decay"]))
        params = dict(model.named_parameters())
        # The model the client received (masked, its own BN state laid over with bn local): FedProx's
        # anchor and SCAFFOLD's starting point, a frozen copy.
        anchor = {name: p.detach().clone() for name, p in params.items()}
        correction = None
        if self.algorithm == "scaffold":
            # c − c_k, once per client per round (c_k zero before the client first trains).
            own = self.client_control[k]
            correction = {name: self.control[name] - (own[name] if own is not None else torch.zeros_like(self.control[name]))
                          for name in self.param_names}
        x, y = self.train[k]
        batch = int(config["batch_size"])
        loss_sum, correct, last, steps = 0.0, 0, {}, 0
        for _ in range(int(config["local_epochs"])):
            for start in range(0, x.shape[0], batch):
                xb, yb = x[start:start + batch], y[start:start + batch]
                optimizer.zero_grad(set_to_none=False)
                out = model(xb)
                loss = F.cross_entropy(out, yb)
                loss.backward()
                # The algorithm's term goes into p.grad before the optimizer (which then adds weight
                # decay and momentum); the stored last-step gradient is this modified one.
                with torch.no_grad():
                    if self.algorithm == "fedprox":
                        for name, p in params.items():
                            p.grad.add_(self.mu * (p - anchor[name]))
                    elif correction is not None:
                        for name, p in params.items():
                            p.grad.add_(correction[name])
                last = {name: params[name].grad.detach().clone() for name in self.tracked}
                optimizer.step()
                steps += 1
                loss_sum += loss.item() * xb.shape[0]
                correct += int((out.argmax(1) == yb).sum().item())
        state = float_state(model)
        if self.algorithm == "scaffold":
            # Option II of Karimireddy et al.: Δc_k = (a − y) / (K·lr) − c, c_k ← c_k + Δc_k.
            assert steps == int(config["local_epochs"]) * -(-x.shape[0] // batch)
            divisor = steps * lr
            delta = {name: (anchor[name] - state[name]) / divisor - self.control[name] for name in self.param_names}
            own = self.client_control[k]
            self.client_control[k] = {name: (own[name] + delta[name] if own is not None else delta[name].clone())
                                      for name in self.param_names}
            self.round_deltas[k] = delta
        # The engine stores the last step's gradient in float32, rounded to fp16 with grad_precision fp16.
        dtype = next(iter(last.values())).dtype
        self.grads[k] = {name: (g.to(torch.float32).half().to(dtype) if self.fp16 else g) for name, g in last.items()}
        if self.config["bn"] == "local":
            self.local_state[k] = {name: state[name].clone() for name in self.local_names}
        return state, loss_sum, correct, x.shape[0] * int(config["local_epochs"])

    def cut_masks(self, d):
        """The masks sent after a round (§6): none when d is None, else every client's."""
        if d is None:
            self.masks = [None] * self.K
            return
        by_weight = self.config["criterion"] == "weight"
        for k in range(self.K):
            if not by_weight and self.grads[k] is None:
                self.masks[k] = None          # never trained: no gradient, the dense model
                continue
            self.masks[k] = {}
            for name in self.maskable:
                w = self.global_state[name]
                score = (w if by_weight else self.grads[k][name] * w).abs()
                self.masks[k][name] = top_mask(score, d)

    def evaluate(self):
        """Per client (None without test samples): accuracy of the model it receives, and of the
        dense global model, each on its own test set (§9)."""
        batch = int(self.config["batch_size"])
        personal, dense = [None] * self.K, [None] * self.K
        for k in range(self.K):
            x, y = self.test[k]
            if x.shape[0] == 0:
                continue
            dense[k] = correct_count(self.model, self.global_state, x, y, batch) / x.shape[0]
            own = self.masks[k] is not None or (self.config["bn"] == "local" and self.local_state[k] is not None)
            personal[k] = correct_count(self.model, self.received(k), x, y, batch) / x.shape[0] if own else dense[k]
        return personal, dense

    def received_density(self):
        """Non-zeros the clients receive in the maskable tensors over K times their size (§10)."""
        kept = total = 0
        for k in range(self.K):
            state = self.received(k)
            for name in self.maskable:
                kept += int(torch.count_nonzero(state[name]))
                total += state[name].numel()
        return kept / total if total else 1.0

    def run_round(self, r, selected, evaluate=True):
        """Round r with the clients `selected` (sorted). Returns the metrics row (the engine's
        keys) plus `personal_each` and `dense_each`, the per-client accuracies."""
        started = time.perf_counter()
        states, loss_sum, correct, seen = [], 0.0, 0, 0
        for k in selected:
            state, l, c, s = self.train_client(k)
            states.append(state)
            loss_sum, correct, seen = loss_sum + l, correct + c, seen + s
        block = self.config.get("aggregation_block", 10)
        averaged = fedavg(states, [self.train[k][0].shape[0] for k in selected], selected, block)
        self.last_average = {name: averaged[name].clone() for name in self.param_names}   # x̄, for checks
        if self.server_rule:
            # d = x − x̄ as the gradient of a server SGD (lr server_lr, momentum server_momentum):
            # v ← m·v + d (v = d on its first step), x ← x − server_lr·v. BN statistics: x̄'s.
            for name, p in self.server_params.items():
                p.copy_(self.global_state[name])
                p.grad = p - averaged[name]
            self.server_optimizer.step()
            for name, p in self.server_params.items():
                averaged[name] = p.detach().clone()
        if self.algorithm == "scaffold":
            # c ← c + Σ_k (1/N)·Δc_k over the clients trained this round, N all clients, in FedAvg's order.
            added = block_sum_weighted([self.round_deltas[k] for k in selected], [1.0 / self.K] * len(selected),
                                       selected, block)
            self.control = {name: self.control[name] + added[name] for name in self.param_names}
            self.round_deltas = {}
        self.global_state = averaged
        d = lips_density(self.config, r)
        self.cut_masks(d)
        trained = time.perf_counter()
        personal_each = dense_each = None
        personalized = dense = None
        if evaluate:
            personal_each, dense_each = self.evaluate()
            scored = [k for k in range(self.K) if personal_each[k] is not None]
            if scored:
                personalized = sum(personal_each[k] for k in scored) / len(scored)
                dense = sum(dense_each[k] for k in scored) / len(scored)
        finished = time.perf_counter()
        values = sum(tensor.numel() for tensor in self.global_state.values())
        if self.algorithm == "scaffold":
            # Δc_k goes up with the model (and c down with it).
            values += sum(self.global_state[name].numel() for name in self.param_names)
        return {"round": r, "method": self.config["method"], "density": d if d is not None else 1.0,
                "received_density": self.received_density(), "clients_trained": len(selected), "clients": list(selected),
                "train_loss": loss_sum / seen if seen else None, "train_accuracy": correct / seen if seen else None,
                "personalized_accuracy": personalized, "dense_accuracy": dense, "global_accuracy": None,
                "bytes_uplink": len(selected) * values * 4, "seconds_training": trained - started,
                "seconds_evaluation": finished - trained, "seconds": finished - started,
                "personal_each": personal_each, "dense_each": dense_each}

#!/usr/bin/env python3
"""The scaling model of docs/scaling.md: round time, efficiency and memory per rank of one run
across N nodes (one rank per node, 32 workers each), from figures measured on one machine.

    python3 docs/results/mpi/scaling_model.py            # prints the tables of docs/scaling.md

Model (what a round does across ranks, Federated/Simulation.swift):
- Training and scoring: a client trains on one worker, so a rank holding n clients needs
  ceil(n / workers) waves of `client_seconds` (one client's round on one core, measured).
- Clients reach ranks in aggregation blocks of B, block b on rank b mod N: the busiest rank holds
  ceil(blocks / N) blocks (fewer clients when C is not a multiple of B: ignored).
- Exchange: every rank receives every other rank's block sums (FedAvg: parameters and BN
  statistics; the mean gradient: conv and linear weights), `block_bytes` each, through a ring
  all-gather: time (N - 1)/N * blocks * block_bytes / bandwidth plus a latency per call.
- Folding: every rank adds every block (memory-bound, `fold_bytes_per_second`).
Not modelled: the dataset load, stragglers beyond the block imbalance, network contention.
"""
import math

CORES_PER_NODE = 32
# Measured on the development machine (docs/results/mpi/sitting-2026-12-02, 2 cores, minimum of 3):
# one round of 100 ResNet-8 clients x 5 epochs x 100 samples on 1 rank x 2 workers.
ROUND_SECONDS = {"fedavg": 21.73, "lips": 30.53}
MEASURED_CORES, MEASURED_CLIENTS = 2, 100
# One block's sums as sent: `lips bench round` on 2 ranks counted 49.426 MB sent per rank per round
# for its 5 blocks (parameters + BN statistics + the conv/linear weights' gradient sum, in Float).
BLOCK_BYTES = 49.426e6 / 5
# Server state per client (fp16 last-step gradient and mask bits), as `lips run` prints it.
CLIENT_STATE_BYTES = 2.6e6
NETWORKS = {"10 GbE": (1.1e9, 50e-6), "100 Gb IB": (11e9, 3e-6)}  # usable bytes/s, latency per step
CALLS_PER_ROUND = 8
FOLD_BYTES_PER_SECOND = 5e9


def round_seconds(method, clients, block, nodes, network):
    client_seconds = ROUND_SECONDS[method] * MEASURED_CORES / MEASURED_CLIENTS
    blocks = math.ceil(clients / block)
    busiest = min(clients, math.ceil(blocks / nodes) * block)
    compute = math.ceil(busiest / CORES_PER_NODE) * client_seconds
    if nodes == 1:
        return compute, 0.0
    bandwidth, latency = NETWORKS[network]
    exchange = (nodes - 1) / nodes * blocks * BLOCK_BYTES / bandwidth + CALLS_PER_ROUND * (nodes - 1) * latency
    fold = blocks * 3 * BLOCK_BYTES / FOLD_BYTES_PER_SECOND
    return compute, exchange + fold


def table(method, clients, block):
    print(f"\n{method}, {clients} clients, aggregation_block {block} ({math.ceil(clients / block)} blocks); "
          f"memory per rank: client state {clients * CLIENT_STATE_BYTES / 1e9:.2f} GB / nodes, "
          f"gathered blocks {math.ceil(clients / block) * BLOCK_BYTES / 1e9:.2f} GB")
    print("| nodes | " + " | ".join(f"{n}: round s (exchange + fold s), efficiency" for n in NETWORKS) + " | client state per rank |")
    print("|---|" + "---|" * len(NETWORKS) + "---|")
    one = sum(round_seconds(method, clients, block, 1, "10 GbE"))
    for nodes in [1, 2, 4, 8, 16, 32, 64]:
        cells = []
        for network in NETWORKS:
            compute, comm = round_seconds(method, clients, block, nodes, network)
            total = compute + comm
            cells.append(f"{total:.2f} ({comm:.2f}), {one / (nodes * total):.0%}")
        per_rank = math.ceil(math.ceil(clients / block) / nodes) * block
        print(f"| {nodes} | " + " | ".join(cells) + f" | {min(clients, per_rank) * CLIENT_STATE_BYTES / 1e9:.2f} GB |")


if __name__ == "__main__":
    table("lips", 100, 10)
    table("lips", 10_000, 10)
    table("lips", 10_000, 100)

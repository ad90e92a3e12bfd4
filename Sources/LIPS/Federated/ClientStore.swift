import CHalf

/// What the server remembers about every client between rounds, besides its LIPS mask
/// (`LIPSSparsifier`), in flat per-client slabs allocated once (no per-client objects):
/// - the last local step's gradient of every conv and linear weight ("tracked" tensors), as fp16
///   (the reference's choice) or fp32: LIPS cuts its masks from it and the layer metrics read it;
/// - with `bn: local`, the client's own BN parameters, biases and BN statistics
///   (docs/semantics.md §7).
///
/// Cost per client: 2 (fp16) or 4 bytes per tracked weight, plus the local tensors (ResNet-8:
/// 1.23 M tracked weights, so 2.5 MB in fp16).
///
/// Sendable by ownership: during a parallel section, client k's slabs are touched only by the task
/// that handles client k; between sections only the simulation touches them.
final class ClientStore: @unchecked Sendable {
    let clients: Int
    /// Conv and linear weights, in layout order; `trackedStart[i]` is tensor i's start in a slab.
    let tracked: [ParameterEntry]
    let trackedStart: [Int]
    let trackedCount: Int
    /// BN parameters and biases (every parameter tensor that is not a conv/linear weight).
    let localParameterEntries: [ParameterEntry]
    let localCount: Int
    let statisticsCount: Int
    let precision: ExperimentConfig.GradientPrecision
    let keepsLocalState: Bool

    /// Every client's tracked gradients, `trackedCount` values each, in the one precision in use
    /// (the other buffer is empty).
    private let halfGradients: OwnedBuffer<Float16>
    private let singleGradients: OwnedBuffer<Float>
    /// Every client's local state, `localCount` floats each; empty without `bn: local`.
    private let localValues: OwnedBuffer<Float>
    let hasGradient: OwnedBuffer<Bool>
    let hasLocal: OwnedBuffer<Bool>

    init(model: Model, clients: Int, precision: ExperimentConfig.GradientPrecision, keepsLocalState: Bool) {
        self.clients = clients
        self.precision = precision
        self.keepsLocalState = keepsLocalState
        let entries = model.parameterLayout.entries
        let tracked = entries.filter { $0.kind == .convWeight || $0.kind == .linearWeight }
        var starts: [Int] = [], start = 0
        for entry in tracked {
            starts.append(start)
            start += entry.count
        }
        self.tracked = tracked
        trackedStart = starts
        trackedCount = start
        localParameterEntries = entries.filter { $0.kind != .convWeight && $0.kind != .linearWeight }
        statisticsCount = model.statisticsLayout.count
        localCount = localParameterEntries.reduce(0) { $0 + $1.count } + statisticsCount

        halfGradients = OwnedBuffer(repeating: 0, count: precision == .half ? clients * trackedCount : 0)
        singleGradients = OwnedBuffer(repeating: 0, count: precision == .single ? clients * trackedCount : 0)
        localValues = OwnedBuffer(repeating: 0, count: keepsLocalState ? clients * localCount : 0)
        hasGradient = OwnedBuffer(repeating: false, count: clients)
        hasLocal = OwnedBuffer(repeating: false, count: clients)
    }

    /// Bytes held per client, for the run's memory report (without the mask).
    var bytesPerClient: Int {
        trackedCount * (precision == .half ? 2 : 4) + (keepsLocalState ? localCount * 4 : 0)
    }

    // MARK: Gradients

    /// Keeps the tracked tensors of `gradients` (a parameter-layout arena) as client `client`'s.
    func storeGradient(_ client: Int, from gradients: Arena) {
        let base = client * trackedCount
        for (index, entry) in tracked.enumerated() {
            let source = gradients.pointer(to: entry)
            let target = base + trackedStart[index]
            switch precision {
            case .half:
                (halfGradients.base + target).withMemoryRebound(to: UInt16.self, capacity: entry.count) {
                    lips_float_to_half(source, $0, entry.count)
                }
            case .single:
                (singleGradients.base + target).update(from: source, count: entry.count)
            }
        }
        hasGradient[client] = true
    }

    /// Writes client `client`'s stored gradient of tracked tensor `index` as Floats into `output`.
    func loadGradient(_ client: Int, tracked index: Int, into output: UnsafeMutablePointer<Float>) {
        let start = client * trackedCount + trackedStart[index]
        let count = tracked[index].count
        switch precision {
        case .half:
            (halfGradients.base + start).withMemoryRebound(to: UInt16.self, capacity: count) {
                lips_half_to_float($0, output, count)
            }
        case .single:
            output.update(from: singleGradients.base + start, count: count)
        }
    }

    // MARK: Local state (`bn: local`)

    /// Keeps the client's BN parameters, biases and statistics after its local training.
    func storeLocal(_ client: Int, parameters: Arena, statistics: Arena) {
        guard keepsLocalState else { return }
        var output = localValues.base + client * localCount
        for entry in localParameterEntries {
            output.update(from: parameters.pointer(to: entry), count: entry.count)
            output += entry.count
        }
        output.update(from: statistics.base, count: statisticsCount)
        hasLocal[client] = true
    }

    /// Overwrites BN parameters, biases and statistics with the client's own, if it has any.
    func applyLocal(_ client: Int, parameters: Arena, statistics: Arena) {
        guard keepsLocalState, hasLocal[client] else { return }
        var input = UnsafePointer(localValues.base + client * localCount)
        for entry in localParameterEntries {
            parameters.pointer(to: entry).update(from: input, count: entry.count)
            input += entry.count
        }
        statistics.base.update(from: input, count: statisticsCount)
    }

    // MARK: Snapshot (checkpoints)

    /// Everything of the store needed to continue after the current round; the masks are the
    /// sparsifier's to fill in. Gradients are included only when asked: with full participation
    /// every client retrains before its gradient is read again.
    func snapshot(includingGradients: Bool) -> ClientStoreSnapshot {
        ClientStoreSnapshot(
            hasGradient: hasGradient.array, hasMask: [], hasLocal: hasLocal.array, maskWords: [],
            localValues: localValues.array,
            halfGradients: includingGradients ? halfGradients.array.map(\.bitPattern) : [],
            singleGradients: includingGradients ? singleGradients.array : [])
    }

    /// Restores the store's part of a snapshot taken from a store of the same shape; returns a
    /// reason when it does not fit.
    func restore(_ snapshot: ClientStoreSnapshot) -> String? {
        guard snapshot.hasGradient.count == clients, snapshot.hasLocal.count == clients,
              snapshot.localValues.count == localValues.count else {
            return "client state does not match this run's clients and model"
        }
        hasGradient.set(snapshot.hasGradient, at: 0)
        hasLocal.set(snapshot.hasLocal, at: 0)
        localValues.set(snapshot.localValues, at: 0)
        let gradientCount = clients * trackedCount
        if precision == .half, snapshot.halfGradients.count == gradientCount {
            halfGradients.set(snapshot.halfGradients.map(Float16.init(bitPattern:)), at: 0)
        } else if precision == .single, snapshot.singleGradients.count == gradientCount {
            singleGradients.set(snapshot.singleGradients, at: 0)
        } else if !snapshot.halfGradients.isEmpty || !snapshot.singleGradients.isEmpty {
            return "stored gradients do not match this run's precision and model"
        } else {
            // Without stored gradients no client may be masked from a stale one.
            hasGradient.fill(false)
        }
        return nil
    }
}

/// A `ClientStore`'s and a `LIPSSparsifier`'s contents as plain arrays, for checkpoints.
public struct ClientStoreSnapshot: Sendable, Equatable {
    public var hasGradient: [Bool]
    public var hasMask: [Bool]
    public var hasLocal: [Bool]
    public var maskWords: [UInt64]
    public var localValues: [Float]
    /// fp16 bit patterns, or fp32 values; empty when not saved.
    public var halfGradients: [UInt16]
    public var singleGradients: [Float]
}

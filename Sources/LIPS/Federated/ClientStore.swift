import CHalf

/// What the server remembers about every client between rounds, besides its LIPS mask
/// (`LIPSSparsifier`), in flat per-client slabs allocated once (no per-client objects):
/// - the last local step's gradient of every conv and linear weight ("tracked" tensors), as fp16
///   (the reference's choice) or fp32: LIPS cuts its masks from it and the layer metrics read it;
/// - with `bn: local`, the client's own BN parameters, biases and BN statistics
///   (docs/semantics.md §7);
/// - with SCAFFOLD, the client's control variate c_k: one Float per parameter, zero until the
///   client first trains (§12).
///
/// Cost per client: 2 (fp16) or 4 bytes per tracked weight, plus the local tensors (ResNet-8:
/// 1.23 M tracked weights, so 2.5 MB in fp16).
///
/// Across MPI ranks each rank holds the slabs of the clients it owns (`ClientOwnership`) only.
///
/// Sendable by ownership: during a parallel section, client k's slabs are touched only by the task
/// that handles client k; between sections only the simulation touches them.
final class ClientStore: @unchecked Sendable {
    let clients: Int
    /// The clients whose slabs this store holds.
    let ownership: ClientOwnership
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
    let keepsControls: Bool
    /// Values per control variate: every parameter of the model.
    let parameterCount: Int

    /// Every client's tracked gradients, `trackedCount` values each, in the one precision in use
    /// (the other buffer is empty).
    private let halfGradients: OwnedBuffer<Float16>
    private let singleGradients: OwnedBuffer<Float>
    /// Every client's local state, `localCount` floats each; empty without `bn: local`.
    private let localValues: OwnedBuffer<Float>
    /// Every client's control variate, `parameterCount` floats each; empty without SCAFFOLD.
    private let controlValues: OwnedBuffer<Float>
    /// Per client (all of them; meaningful for the owned ones).
    let hasGradient: OwnedBuffer<Bool>
    let hasLocal: OwnedBuffer<Bool>

    init(model: Model, ownership: ClientOwnership, precision: ExperimentConfig.GradientPrecision, keepsLocalState: Bool,
         keepsControls: Bool = false) {
        let clients = ownership.clients
        self.clients = clients
        self.ownership = ownership
        self.precision = precision
        self.keepsLocalState = keepsLocalState
        self.keepsControls = keepsControls
        parameterCount = model.parameterLayout.count
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

        let slabs = ownership.owned.count
        halfGradients = OwnedBuffer(repeating: 0, count: precision == .half ? slabs * trackedCount : 0)
        singleGradients = OwnedBuffer(repeating: 0, count: precision == .single ? slabs * trackedCount : 0)
        localValues = OwnedBuffer(repeating: 0, count: keepsLocalState ? slabs * localCount : 0)
        controlValues = OwnedBuffer(repeating: 0, count: keepsControls ? slabs * parameterCount : 0)
        hasGradient = OwnedBuffer(repeating: false, count: clients)
        hasLocal = OwnedBuffer(repeating: false, count: clients)
    }

    /// Bytes held per client, for the run's memory report (without the mask).
    var bytesPerClient: Int {
        trackedCount * (precision == .half ? 2 : 4) + (keepsLocalState ? localCount * 4 : 0)
            + (keepsControls ? parameterCount * 4 : 0)
    }

    // MARK: Gradients

    /// Keeps the tracked tensors of `gradients` (a parameter-layout arena) as client `client`'s.
    func storeGradient(_ client: Int, from gradients: Arena) {
        let base = ownership.position(of: client) * trackedCount
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
        let start = ownership.position(of: client) * trackedCount + trackedStart[index]
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
        var output = localValues.base + ownership.position(of: client) * localCount
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
        var input = UnsafePointer(localValues.base + ownership.position(of: client) * localCount)
        for entry in localParameterEntries {
            parameters.pointer(to: entry).update(from: input, count: entry.count)
            input += entry.count
        }
        statistics.base.update(from: input, count: statisticsCount)
    }

    // MARK: Control variates (SCAFFOLD)

    /// Writes c − c_k, the term SCAFFOLD adds to each of client `client`'s local gradients.
    func loadCorrection(_ client: Int, server: Arena, into correction: Arena) {
        precondition(keepsControls, "ClientStore: no control variates")
        let c = server.base, ck = controlValues.base + ownership.position(of: client) * parameterCount
        let d = correction.base
        for i in 0..<parameterCount { d[i] = c[i] - ck[i] }
    }

    /// c_k ← c_k + Δc_k.
    func addControl(_ client: Int, delta: Arena) {
        precondition(keepsControls, "ClientStore: no control variates")
        let ck = controlValues.base + ownership.position(of: client) * parameterCount, d = delta.base
        for i in 0..<parameterCount { ck[i] += d[i] }
    }

    // MARK: Snapshot (checkpoints)

    /// Everything of the store needed to continue after the current round, for the clients it
    /// owns; the masks are the sparsifier's to fill in. Gradients are included only when asked:
    /// with full participation every client retrains before its gradient is read again.
    func snapshot(includingGradients: Bool) -> ClientStoreSnapshot {
        let owned = ownership.owned
        return ClientStoreSnapshot(
            clients: owned, hasGradient: owned.map { hasGradient[$0] }, hasMask: [], hasLocal: owned.map { hasLocal[$0] },
            maskWords: [], localValues: localValues.array, controlValues: controlValues.array,
            halfGradients: includingGradients ? halfGradients.array.map(\.bitPattern) : [],
            singleGradients: includingGradients ? singleGradients.array : [])
    }

    /// Restores, for the clients this store owns, the store's part of a snapshot taken from a store
    /// of the same model and client count (holding any subset of the clients: a checkpoint shard of
    /// another rank count redistributes this way); returns a reason when it does not fit.
    func restore(_ snapshot: ClientStoreSnapshot) -> String? {
        let n = snapshot.clients.count
        guard snapshot.clients.allSatisfy({ (0..<clients).contains($0) }), snapshot.hasGradient.count == n,
              snapshot.hasLocal.count == n, snapshot.localValues.count == (keepsLocalState ? n * localCount : 0),
              snapshot.controlValues.count == (keepsControls ? n * parameterCount : 0) else {
            return "client state does not match this run's clients and model"
        }
        let withHalf = precision == .half && snapshot.halfGradients.count == n * trackedCount && n > 0
        let withSingle = precision == .single && snapshot.singleGradients.count == n * trackedCount && n > 0
        if !withHalf && !withSingle && (!snapshot.halfGradients.isEmpty || !snapshot.singleGradients.isEmpty) {
            return "stored gradients do not match this run's precision and model"
        }
        for (index, client) in snapshot.clients.enumerated() where ownership.owns(client) {
            let position = ownership.position(of: client)
            hasLocal[client] = snapshot.hasLocal[index]
            if keepsLocalState {
                localValues.set(Array(snapshot.localValues[index * localCount ..< (index + 1) * localCount]),
                                at: position * localCount)
            }
            if keepsControls {
                controlValues.set(Array(snapshot.controlValues[index * parameterCount ..< (index + 1) * parameterCount]),
                                  at: position * parameterCount)
            }
            let gradients = index * trackedCount ..< (index + 1) * trackedCount
            if withHalf {
                halfGradients.set(snapshot.halfGradients[gradients].map(Float16.init(bitPattern:)), at: position * trackedCount)
            } else if withSingle {
                singleGradients.set(Array(snapshot.singleGradients[gradients]), at: position * trackedCount)
            }
            // Without stored gradients no client may be masked from a stale one.
            hasGradient[client] = (withHalf || withSingle) && snapshot.hasGradient[index]
        }
        return nil
    }
}

/// A `ClientStore`'s and a `LIPSSparsifier`'s contents as plain arrays, for checkpoints.
public struct ClientStoreSnapshot: Sendable, Equatable {
    /// The clients held, increasing (all of them from one process, a rank's own in a shard); the
    /// arrays below hold one entry, or one slab, per client of this list in its order.
    public var clients: [Int]
    public var hasGradient: [Bool]
    public var hasMask: [Bool]
    public var hasLocal: [Bool]
    public var maskWords: [UInt64]
    public var localValues: [Float]
    /// SCAFFOLD's control variates, one slab per client; empty without SCAFFOLD.
    public var controlValues: [Float] = []
    /// fp16 bit patterns, or fp32 values; empty when not saved.
    public var halfGradients: [UInt16]
    public var singleGradients: [Float]
}

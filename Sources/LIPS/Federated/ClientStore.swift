import CHalf
/// What the server remembers about every client between rounds, in flat per-client slabs
/// allocated once (no per-client objects):
/// - the last local step's gradient of every conv and linear weight ("tracked" tensors), as fp16
///   (the reference's choice) or fp32: LIPS cuts its masks from it and the inertia metrics read it;
/// - the LIPS mask the client received after the last aggregation, one bit per maskable weight;
/// - with `bn: local`, the client's own BN parameters, biases and BN statistics.
///
/// Cost per client: 2 (fp16) or 4 bytes per tracked weight, plus 1 bit per maskable weight, plus
/// the local tensors (ResNet-8: 1.23 M tracked weights, so 2.5 MB in fp16).
///
/// Sendable by ownership: during a parallel section, client k's slabs are touched only by the task
/// that handles client k; between sections only the simulation touches them.
final class ClientStore: @unchecked Sendable {
    let clients: Int
    /// Conv and linear weights, in layout order; `trackedStart[i]` is tensor i's start in a slab.
    let tracked: [ParameterEntry]
    let trackedStart: [Int]
    let trackedCount: Int
    /// Indices into `tracked` of the maskable tensors and their first bit in a mask slab.
    let maskableTracked: [Int]
    let maskBitStart: [Int]
    /// Maskable weights in all (bits per client's mask).
    let maskableCount: Int
    let maskWordsPerClient: Int
    /// BN parameters and biases (every parameter tensor that is not a conv/linear weight).
    let localParameterEntries: [ParameterEntry]
    let localCount: Int
    let statisticsCount: Int
    let precision: ExperimentConfig.GradientPrecision
    let keepsLocalState: Bool

    private let halfGradients: UnsafeMutablePointer<Float16>?
    private let singleGradients: UnsafeMutablePointer<Float>?
    private let maskWords: UnsafeMutablePointer<UInt64>
    private let localValues: UnsafeMutablePointer<Float>?
    let hasGradient: UnsafeMutablePointer<Bool>
    let hasMask: UnsafeMutablePointer<Bool>
    let hasLocal: UnsafeMutablePointer<Bool>

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
        let maskable = tracked.indices.filter { tracked[$0].maskable }
        var bitStarts: [Int] = [], bit = 0
        for index in maskable {
            bitStarts.append(bit)
            bit += tracked[index].count
        }
        self.tracked = tracked
        trackedStart = starts
        trackedCount = start
        maskableTracked = maskable
        maskBitStart = bitStarts
        maskableCount = bit
        maskWordsPerClient = (bit + 63) / 64
        localParameterEntries = entries.filter { $0.kind != .convWeight && $0.kind != .linearWeight }
        statisticsCount = model.statisticsLayout.count
        localCount = localParameterEntries.reduce(0) { $0 + $1.count } + statisticsCount

        func zeroed<T>(_ count: Int, _ value: T) -> UnsafeMutablePointer<T> {
            let pointer = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
            pointer.initialize(repeating: value, count: max(count, 1))
            return pointer
        }
        halfGradients = precision == .half ? zeroed(clients * trackedCount, Float16(0)) : nil
        singleGradients = precision == .single ? zeroed(clients * trackedCount, Float(0)) : nil
        maskWords = zeroed(clients * maskWordsPerClient, UInt64(0))
        localValues = keepsLocalState ? zeroed(clients * localCount, Float(0)) : nil
        hasGradient = zeroed(clients, false)
        hasMask = zeroed(clients, false)
        hasLocal = zeroed(clients, false)
    }

    deinit {
        halfGradients?.deallocate()
        singleGradients?.deallocate()
        maskWords.deallocate()
        localValues?.deallocate()
        hasGradient.deallocate()
        hasMask.deallocate()
        hasLocal.deallocate()
    }

    /// Bytes held per client, for the run's memory report.
    var bytesPerClient: Int {
        trackedCount * (precision == .half ? 2 : 4) + maskWordsPerClient * 8 + (keepsLocalState ? localCount * 4 : 0)
    }

    // MARK: Gradients

    /// Keeps the tracked tensors of `gradients` (a parameter-layout arena) as client `client`'s.
    func storeGradient(_ client: Int, from gradients: Arena) {
        let base = client * trackedCount
        for (index, entry) in tracked.enumerated() {
            let source = gradients.base + entry.offset
            let target = base + trackedStart[index]
            if let halfGradients {
                (halfGradients + target).withMemoryRebound(to: UInt16.self, capacity: entry.count) {
                    lips_float_to_half(source, $0, entry.count)
                }
            } else if let singleGradients {
                (singleGradients + target).update(from: source, count: entry.count)
            }
        }
        hasGradient[client] = true
    }

    /// Writes client `client`'s stored gradient of tracked tensor `index` as Floats into `output`.
    func loadGradient(_ client: Int, tracked index: Int, into output: UnsafeMutablePointer<Float>) {
        let start = client * trackedCount + trackedStart[index]
        let count = tracked[index].count
        if let halfGradients {
            (halfGradients + start).withMemoryRebound(to: UInt16.self, capacity: count) {
                lips_half_to_float($0, output, count)
            }
        } else if let singleGradients {
            output.update(from: singleGradients + start, count: count)
        }
    }

    // MARK: Masks

    /// Sets client `client`'s mask of maskable tensor `maskable` (an index into `maskableTracked`)
    /// from 0/1 floats; returns how many entries it keeps.
    @discardableResult
    func setMask(_ client: Int, maskable: Int, from mask: UnsafePointer<Float>) -> Int {
        let words = maskWords + client * maskWordsPerClient
        let first = maskBitStart[maskable]
        var kept = 0
        for i in 0..<tracked[maskableTracked[maskable]].count {
            let bit = first + i
            let flag = UInt64(1) << UInt64(bit & 63)
            if mask[i] != 0 {
                words[bit >> 6] |= flag
                kept += 1
            } else {
                words[bit >> 6] &= ~flag
            }
        }
        return kept
    }

    /// Zeroes, in `parameters`, the maskable weights client `client`'s mask drops.
    func applyMask(_ client: Int, to parameters: Arena) {
        let words = maskWords + client * maskWordsPerClient
        for (maskable, index) in maskableTracked.enumerated() {
            let entry = tracked[index]
            let weights = parameters.base + entry.offset
            let first = maskBitStart[maskable]
            for i in 0..<entry.count {
                let bit = first + i
                if words[bit >> 6] & (UInt64(1) << UInt64(bit & 63)) == 0 { weights[i] = 0 }
            }
        }
    }

    /// Every client receives the dense model after the next aggregation.
    func clearMasks() {
        hasMask.update(repeating: false, count: clients)
    }

    // MARK: Local state (`bn: local`)

    /// Keeps the client's BN parameters, biases and statistics after its local training.
    func storeLocal(_ client: Int, parameters: Arena, statistics: Arena) {
        guard let localValues else { return }
        var output = localValues + client * localCount
        for entry in localParameterEntries {
            output.update(from: parameters.base + entry.offset, count: entry.count)
            output += entry.count
        }
        output.update(from: statistics.base, count: statisticsCount)
        hasLocal[client] = true
    }

    /// Overwrites BN parameters, biases and statistics with the client's own, if it has any.
    func applyLocal(_ client: Int, parameters: Arena, statistics: Arena) {
        guard let localValues, hasLocal[client] else { return }
        var input = UnsafePointer(localValues + client * localCount)
        for entry in localParameterEntries {
            (parameters.base + entry.offset).update(from: input, count: entry.count)
            input += entry.count
        }
        statistics.base.update(from: input, count: statisticsCount)
    }

    // MARK: Snapshot (checkpoints)

    /// Everything needed to continue after the current round. Gradients are included only when
    /// asked: with full participation every client retrains before its gradient is read again.
    func snapshot(includingGradients: Bool) -> ClientStoreSnapshot {
        func array<T>(_ pointer: UnsafeMutablePointer<T>?, _ count: Int) -> [T] {
            guard let pointer else { return [] }
            return Array(UnsafeBufferPointer(start: pointer, count: count))
        }
        return ClientStoreSnapshot(
            hasGradient: array(hasGradient, clients), hasMask: array(hasMask, clients), hasLocal: array(hasLocal, clients),
            maskWords: array(maskWords, clients * maskWordsPerClient),
            localValues: array(localValues, keepsLocalState ? clients * localCount : 0),
            halfGradients: includingGradients ? array(halfGradients, clients * trackedCount).map(\.bitPattern) : [],
            singleGradients: includingGradients ? array(singleGradients, clients * trackedCount) : [])
    }

    /// Restores a snapshot taken from a store of the same shape; returns a reason when it does not fit.
    func restore(_ snapshot: ClientStoreSnapshot) -> String? {
        guard snapshot.hasGradient.count == clients, snapshot.hasMask.count == clients, snapshot.hasLocal.count == clients,
              snapshot.maskWords.count == clients * maskWordsPerClient,
              snapshot.localValues.count == (keepsLocalState ? clients * localCount : 0) else {
            return "client state does not match this run's clients and model"
        }
        hasGradient.update(from: snapshot.hasGradient, count: clients)
        hasMask.update(from: snapshot.hasMask, count: clients)
        hasLocal.update(from: snapshot.hasLocal, count: clients)
        maskWords.update(from: snapshot.maskWords, count: snapshot.maskWords.count)
        if let localValues { localValues.update(from: snapshot.localValues, count: snapshot.localValues.count) }
        let gradientCount = clients * trackedCount
        if let halfGradients, snapshot.halfGradients.count == gradientCount {
            for i in 0..<gradientCount { halfGradients[i] = Float16(bitPattern: snapshot.halfGradients[i]) }
        } else if let singleGradients, snapshot.singleGradients.count == gradientCount {
            singleGradients.update(from: snapshot.singleGradients, count: gradientCount)
        } else if !snapshot.halfGradients.isEmpty || !snapshot.singleGradients.isEmpty {
            return "stored gradients do not match this run's precision and model"
        } else {
            // Without stored gradients no client may be masked from a stale one.
            hasGradient.update(repeating: false, count: clients)
        }
        return nil
    }
}

/// A `ClientStore`'s contents as plain arrays, for checkpoints.
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

extension ClientStore {
    /// Writes into `parameters`/`statistics` the model client `client` receives after the last
    /// aggregation: the global model, with its mask applied and its local BN state laid over.
    func writeReceivedModel(_ client: Int, global: Arena, globalStatistics: Arena, parameters: Arena, statistics: Arena) {
        parameters.copy(from: global)
        statistics.copy(from: globalStatistics)
        if hasMask[client] { applyMask(client, to: parameters) }
        if keepsLocalState { applyLocal(client, parameters: parameters, statistics: statistics) }
    }

    /// Whether client `client` receives something other than the dense global model.
    func receivesPersonalModel(_ client: Int) -> Bool {
        hasMask[client] || (keepsLocalState && hasLocal[client])
    }
}

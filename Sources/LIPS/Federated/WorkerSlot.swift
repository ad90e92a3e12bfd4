/// Everything one worker owns: its trainer (workspace, gradient and momentum arenas), the
/// model it is training or evaluating, and scratch for masks and metrics. Allocated once per run.
///
/// Sendable by ownership: only the worker with index i touches slot i during a parallel section.
final class WorkerSlot: @unchecked Sendable {
    let trainer: ClientTrainer
    let parameters: Arena
    let statistics: Arena
    /// Three scratch vectors as long as the largest tensor (a gradient, its scores, top-k work).
    let scratch: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    let scratchCount: Int

    init(model: Model, options: LocalTrainingOptions) {
        trainer = ClientTrainer(model: model, options: options)
        parameters = model.makeParameters()
        statistics = model.makeStatistics()
        let count = max(1, model.parameterLayout.entries.map(\.count).max() ?? 1)
        func make() -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            pointer.initialize(repeating: 0, count: count)
            return pointer
        }
        scratchCount = count
        scratch = (make(), make(), make())
    }

    deinit {
        scratch.0.deallocate()
        scratch.1.deallocate()
        scratch.2.deallocate()
    }
}

/// A fixed-size output buffer shared by a parallel section, where each index writes only its own
/// elements. Sendable by that rule; read it only after the section ends.
final class SharedBuffer<Element>: @unchecked Sendable {
    let count: Int
    let base: UnsafeMutablePointer<Element>

    init(repeating value: Element, count: Int) {
        self.count = count
        base = .allocate(capacity: max(count, 1))
        base.initialize(repeating: value, count: max(count, 1))
    }

    deinit {
        base.deinitialize(count: max(count, 1))
        base.deallocate()
    }

    subscript(index: Int) -> Element {
        get { base[index] }
        set { base[index] = newValue }
    }

    var array: [Element] { Array(UnsafeBufferPointer(start: base, count: count)) }
}

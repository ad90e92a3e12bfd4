/// One contiguous, zero-initialised allocation of `Float`s that owns its memory.
///
/// A model's parameters, gradients, momentum and BatchNorm statistics are each one arena with a
/// shared `ParameterLayout`, so FedAvg, masking, norms and checkpoints are single passes.
///
/// Sendable without locks, by ownership: an arena is written by one owner at a time (a worker
/// its own arenas, the aggregator the global ones between parallel sections) and only read while
/// shared. The scheduler's structure, not the type, enforces this.
public final class Arena: @unchecked Sendable {
    /// Number of floats.
    public let count: Int
    /// Base address, stable for the arena's lifetime. Internal: only kernels and layers use it.
    let base: UnsafeMutablePointer<Float>

    /// Allocates `count` floats set to zero.
    public init(count: Int) {
        precondition(count >= 0, "Arena: negative count \(count)")
        base = .allocate(capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
        self.count = count
    }

    /// A new arena holding a copy of `other`.
    public convenience init(copying other: Arena) {
        self.init(count: other.count)
        base.update(from: other.base, count: count)
    }

    deinit {
        base.deallocate()
    }

    /// The float at `index` (bounds-checked).
    public subscript(index: Int) -> Float {
        get {
            precondition(index >= 0 && index < count, "Arena: index \(index) out of 0..<\(count)")
            return base[index]
        }
        set {
            precondition(index >= 0 && index < count, "Arena: index \(index) out of 0..<\(count)")
            base[index] = newValue
        }
    }

    /// Sets every float to `value`.
    public func fill(_ value: Float) {
        base.update(repeating: value, count: count)
    }

    /// Copies `other`, which must have the same count.
    public func copy(from other: Arena) {
        precondition(other.count == count, "Arena.copy: \(other.count) floats into \(count)")
        base.update(from: other.base, count: count)
    }

    /// Read access to all floats.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    /// Write access to all floats.
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: base, count: count))
    }

    /// A copy of the floats in `range`.
    public func values(_ range: Range<Int>) -> [Float] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "Arena: range \(range) out of 0..<\(count)")
        return Array(UnsafeBufferPointer(start: base + range.lowerBound, count: range.count))
    }

    /// All floats as an array (a copy).
    public var array: [Float] { values(0..<count) }

    /// Overwrites the floats from `offset` on with `values`.
    public func set(_ values: [Float], at offset: Int) {
        precondition(offset >= 0 && offset + values.count <= count, "Arena: \(values.count) floats at \(offset) exceed \(count)")
        guard !values.isEmpty else { return }
        values.withUnsafeBufferPointer { (base + offset).update(from: $0.baseAddress!, count: values.count) }
    }
}

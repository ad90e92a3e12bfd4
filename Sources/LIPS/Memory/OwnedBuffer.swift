/// One contiguous allocation of `count` elements that owns its memory and frees it in `deinit`
/// (NIO's `_Storage`). Every buffer of the engine is one: a model's arenas (`Arena` is
/// `OwnedBuffer<Float>`), a worker's workspace, labels and scratch, the server's per-client slabs
/// and the per-index outputs of a parallel section. So `allocate` and `deallocate` appear here and
/// nowhere else.
///
/// Sendable without locks, by ownership: a buffer is written by one owner at a time (a worker its
/// own buffers, the simulation the global ones between parallel sections), or, when a parallel
/// section shares it, each index writes only its own elements and nobody reads them before the
/// section ends. The scheduler's structure, not the type, enforces this.
public final class OwnedBuffer<Element>: @unchecked Sendable {
    /// Number of elements.
    public let count: Int
    /// Base address, stable for the buffer's lifetime. Internal: kernels, layers and the
    /// federated core use it; the public API is the bounds-checked one below.
    let base: UnsafeMutablePointer<Element>

    /// Allocates `count` elements set to `value`.
    public init(repeating value: Element, count: Int) {
        precondition(count >= 0, "OwnedBuffer: negative count \(count)")
        // One element at least, so `base` is valid (and initialised) even for an empty buffer.
        base = .allocate(capacity: max(count, 1))
        base.initialize(repeating: value, count: max(count, 1))
        self.count = count
    }

    /// A new buffer holding a copy of `other`.
    public init(copying other: OwnedBuffer) {
        count = other.count
        base = .allocate(capacity: max(count, 1))
        base.initialize(from: other.base, count: max(count, 1))
    }

    deinit {
        base.deinitialize(count: max(count, 1))
        base.deallocate()
    }

    /// The element at `index` (bounds-checked).
    public subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < count, "OwnedBuffer: index \(index) out of 0..<\(count)")
            return base[index]
        }
        set {
            precondition(index >= 0 && index < count, "OwnedBuffer: index \(index) out of 0..<\(count)")
            base[index] = newValue
        }
    }

    /// Sets every element to `value`.
    public func fill(_ value: Element) {
        base.update(repeating: value, count: count)
    }

    /// Copies `other`, which must have the same count.
    public func copy(from other: OwnedBuffer) {
        precondition(other.count == count, "OwnedBuffer.copy: \(other.count) elements into \(count)")
        base.update(from: other.base, count: count)
    }

    /// Read access to all elements.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    /// Write access to all elements.
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Element>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: base, count: count))
    }

    /// A copy of the elements in `range`.
    public func values(_ range: Range<Int>) -> [Element] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "OwnedBuffer: range \(range) out of 0..<\(count)")
        return Array(UnsafeBufferPointer(start: base + range.lowerBound, count: range.count))
    }

    /// All elements as an array (a copy).
    public var array: [Element] { values(0..<count) }

    /// Overwrites the elements from `offset` on with `values`.
    public func set(_ values: [Element], at offset: Int) {
        precondition(offset >= 0 && offset + values.count <= count, "OwnedBuffer: \(values.count) elements at \(offset) exceed \(count)")
        guard !values.isEmpty else { return }
        values.withUnsafeBufferPointer { (base + offset).update(from: $0.baseAddress!, count: values.count) }
    }
}

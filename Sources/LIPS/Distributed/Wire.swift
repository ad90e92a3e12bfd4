/// Plain values to bytes and back, for what ranks exchange through a `Communicator`: fixed-width
/// numbers in this machine's byte order (every rank of a run runs the same binary), so a Double
/// arrives with the same bits it left with.
struct WireWriter {
    private(set) var bytes: [UInt8] = []

    mutating func append<Value: BitwiseCopyable>(_ value: Value) {
        withUnsafeBytes(of: value) { bytes += $0 }
    }

    mutating func append<Value: BitwiseCopyable>(contentsOf values: UnsafeBufferPointer<Value>) {
        bytes += UnsafeRawBufferPointer(values)
    }
}

/// Reads what a `WireWriter` wrote, in the same order.
struct WireReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { offset >= bytes.count }

    mutating func read<Value: BitwiseCopyable>(_ type: Value.Type = Value.self) -> Value {
        let size = MemoryLayout<Value>.size
        precondition(offset + size <= bytes.count, "WireReader: \(size) bytes past the end of \(bytes.count)")
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Value.self) }
        offset += size
        return value
    }

    /// Copies `count` values into `target`.
    mutating func read<Value: BitwiseCopyable>(_ count: Int, into target: UnsafeMutablePointer<Value>) {
        let size = count * MemoryLayout<Value>.stride
        precondition(offset + size <= bytes.count, "WireReader: \(size) bytes past the end of \(bytes.count)")
        bytes.withUnsafeBytes { UnsafeMutableRawPointer(target).copyMemory(from: $0.baseAddress! + offset, byteCount: size) }
        offset += size
    }
}

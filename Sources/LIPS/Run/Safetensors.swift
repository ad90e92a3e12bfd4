import CHalf
import Foundation

/// A safetensors file (the format of Hugging Face's `safetensors`, which PyTorch's
/// `safetensors.torch.save_file`/`load_file` read and write), by hand:
///
///     [8 bytes: n, little-endian UInt64][n bytes: JSON header][data]
///
/// The header is a JSON object `{NAME: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
/// …, "__metadata__": {str: str}}` (the metadata optional); offsets are bytes into the data
/// section, which every tensor covers exactly once, with no gaps. Values are little-endian,
/// row-major (C order), as PyTorch lays them out.
///
/// Written: F32 and I64. Read: F32, I64, and F16, BF16 and F64 converted to Float.
public struct Safetensors: Sendable, Equatable {
    /// Element types the engine knows, by their safetensors names.
    public enum DType: String, Sendable, CaseIterable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64", i64 = "I64"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .f16, .bf16: return 2
            case .f32: return 4
            case .f64, .i64: return 8
            }
        }
    }

    /// One tensor: its name, type, shape and raw little-endian bytes.
    public struct Tensor: Sendable, Equatable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public let bytes: [UInt8]

        public var count: Int { shape.reduce(1, *) }

        /// A float32 tensor.
        public init(name: String, shape: [Int], floats: [Float]) {
            precondition(shape.reduce(1, *) == floats.count, "Safetensors: \(name) has \(floats.count) values for shape \(shape)")
            var bytes = [UInt8](repeating: 0, count: 4 * floats.count)
            bytes.withUnsafeMutableBytes { raw in
                for (i, value) in floats.enumerated() { raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            }
            self.init(name: name, dtype: .f32, shape: shape, bytes: bytes)
        }

        /// An int64 tensor.
        public init(name: String, shape: [Int], int64s: [Int64]) {
            precondition(shape.reduce(1, *) == int64s.count, "Safetensors: \(name) has \(int64s.count) values for shape \(shape)")
            var bytes = [UInt8](); bytes.reserveCapacity(8 * int64s.count)
            for value in int64s { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
            self.init(name: name, dtype: .i64, shape: shape, bytes: bytes)
        }

        public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
            precondition(bytes.count == shape.reduce(1, *) * dtype.size, "Safetensors: \(name): \(bytes.count) bytes for \(dtype.rawValue) \(shape)")
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        /// The values as Float: F32 exactly, F16/BF16 exactly (widened), F64 rounded; nil for I64.
        public var floats: [Float]? {
            let n = count
            switch dtype {
            case .f32: return (0..<n).map { Float(bitPattern: word(UInt32.self, $0)) }
            case .bf16: return (0..<n).map { Float(bitPattern: UInt32(word(UInt16.self, $0)) << 16) }
            case .f64: return (0..<n).map { Float(Double(bitPattern: word(UInt64.self, $0))) }
            case .f16:
                let half = (0..<n).map { word(UInt16.self, $0) }
                var result = [Float](repeating: 0, count: n)
                lips_half_to_float(half, &result, n)
                return result
            case .i64: return nil
            }
        }

        /// The values of an I64 tensor; nil for other types.
        public var int64s: [Int64]? {
            dtype == .i64 ? (0..<count).map { Int64(bitPattern: word(UInt64.self, $0)) } : nil
        }

        /// Element `index` as a little-endian unsigned word of its size.
        private func word<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, _ index: Int) -> T {
            precondition(index >= 0 && (index + 1) * MemoryLayout<T>.size <= bytes.count, "Safetensors: element \(index) of \(name) out of range")
            return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self)) }
        }
    }

    /// Tensors in file order (the writer's order; the reader's is by data offset).
    public var tensors: [Tensor]
    /// The header's `__metadata__`, if any.
    public var metadata: [String: String]

    public init(tensors: [Tensor], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor named `name`, if any.
    public func tensor(named name: String) -> Tensor? { tensors.first { $0.name == name } }

    // MARK: - Writing

    /// The file's bytes: tensors in `tensors` order, back to back; the header lists them in the same
    /// order (metadata first, keys sorted) and is padded with spaces to a multiple of 8 bytes, so
    /// the data section starts 8-byte aligned.
    public func encoded() -> [UInt8] {
        var parts: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(doubleQuoted($0)):\(doubleQuoted(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in tensors {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            parts.append("\(doubleQuoted(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + tensor.bytes.count)]}")
            offset += tensor.bytes.count
        }
        var header = Array("{\(parts.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var bytes = [UInt8](); bytes.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes += $0 }
        bytes += header
        for tensor in tensors { bytes += tensor.bytes }
        return bytes
    }

    /// Writes the file atomically (`AtomicFile`). Tensor names must be unique.
    public func write(to path: String) throws {
        precondition(Set(tensors.map(\.name)).count == tensors.count, "Safetensors: duplicate tensor names")
        try AtomicFile.write(encoded(), to: path)
    }

    // MARK: - Reading

    /// Reads a safetensors file; every malformed file is a one-line `UserError` naming the file
    /// and the fault (truncated, bad header JSON, offsets out of range, overlapping or leaving
    /// gaps, a size that does not match the shape, an unknown dtype).
    public static func read(from path: String) throws -> Safetensors {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UserError("\(path): cannot read the file (missing or unreadable)")
        }
        return try decode([UInt8](data), source: path)
    }

    /// Parses the bytes of a safetensors file; `source` names it in errors.
    public static func decode(_ bytes: [UInt8], source: String) throws -> Safetensors {
        func fail(_ message: String) -> UserError { UserError("\(source): not a valid safetensors file: \(message)") }
        guard bytes.count >= 8 else { throw fail("truncated (\(bytes.count) bytes, the header length alone takes 8)") }
        var length: UInt64 = 0
        for k in 0..<8 { length |= UInt64(bytes[k]) << (8 * k) }
        guard length <= UInt64(bytes.count - 8) else {
            throw fail("truncated (header length \(length) but only \(bytes.count - 8) bytes follow)")
        }
        let headerEnd = 8 + Int(length)
        guard case .object(let header)? = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes[8..<headerEnd])) else {
            throw fail("bad header JSON (expected a JSON object of \(length) bytes)")
        }
        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard case .object(let dictionary) = raw else { throw fail("__metadata__ is not an object of strings") }
            for (key, value) in dictionary {
                guard case .string(let text) = value else { throw fail("__metadata__ '\(key)' is not a string") }
                metadata[key] = text
            }
        }
        let dataCount = bytes.count - headerEnd
        var entries: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
        for (name, raw) in header where name != "__metadata__" {
            guard case .object(let entry) = raw else { throw fail("tensor '\(name)' is not an object") }
            guard case .string(let dtypeName)? = entry["dtype"] else { throw fail("tensor '\(name)' has no dtype") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("tensor '\(name)' has unknown dtype '\(dtypeName)' (known: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let shape = integers(entry["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("tensor '\(name)' has no shape of non-negative integers")
            }
            guard let offsets = integers(entry["data_offsets"]), offsets.count == 2 else {
                throw fail("tensor '\(name)' has no data_offsets [begin, end]")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataCount else {
                throw fail("tensor '\(name)' data_offsets [\(begin), \(end)] out of range 0...\(dataCount)")
            }
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d); return (p, acc.1 || o)
            }
            let bytesNeeded = count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, !bytesNeeded.overflow, bytesNeeded.partialValue == end - begin else {
                throw fail("tensor '\(name)' has \(end - begin) bytes, but \(dtype.rawValue) \(shape) needs \(overflow ? "more" : String(count * dtype.size))")
            }
            entries.append((name, dtype, shape, begin, end))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var position = 0
        for entry in entries {
            if entry.begin < position {
                throw fail("tensor '\(entry.name)' data_offsets [\(entry.begin), \(entry.end)] overlap the tensor before (which ends at \(position))")
            }
            if entry.begin > position {
                throw fail("data bytes \(position)..<\(entry.begin) belong to no tensor (before '\(entry.name)')")
            }
            position = entry.end
        }
        guard position == dataCount else {
            throw fail("data bytes \(position)..<\(dataCount) belong to no tensor (trailing bytes)")
        }
        let tensors = entries.map {
            Tensor(name: $0.name, dtype: $0.dtype, shape: $0.shape,
                   bytes: Array(bytes[(headerEnd + $0.begin)..<(headerEnd + $0.end)]))
        }
        return Safetensors(tensors: tensors, metadata: metadata)
    }

    /// A JSON array of integers, or nil.
    private static func integers(_ value: JSONValue?) -> [Int]? {
        guard case .array(let elements)? = value else { return nil }
        var result: [Int] = []
        for element in elements {
            guard case .integer(let number) = element else { return nil }
            result.append(number)
        }
        return result
    }

    /// Just enough JSON for the header: integers apart from other numbers, no Bool/number mix-up.
    enum JSONValue: Decodable {
        case null, bool(Bool), integer(Int), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let value = try? container.decode(Bool.self) { self = .bool(value) }
            else if let value = try? container.decode(Int.self) { self = .integer(value) }
            else if let value = try? container.decode(Double.self) { self = .number(value) }
            else if let value = try? container.decode(String.self) { self = .string(value) }
            else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
            else { self = .object(try container.decode([String: JSONValue].self)) }
        }
    }
}

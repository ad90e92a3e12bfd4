import CZlib
import Foundation

#if _endian(big)
#error("CheckpointArchive stores little-endian values by raw copy; big-endian hosts are not supported")
#endif

/// A checkpoint file: named binary sections in one container, so resuming a run reads one file
/// that was written in one atomic step (never parameters from one round and metrics from another).
///
/// Concretely, all integers little-endian:
/// ```
/// "LIPSCKPT"            8 bytes magic
/// version    UInt32     `formatVersion` (1)
/// count      UInt32     number of sections
/// count × { nameLength UInt32, name (UTF-8), byteCount UInt64, bytes }
/// checksum   UInt32     CRC-32 (zlib) of everything before it
/// ```
/// Floats are raw IEEE-754 Float32, fp16 payloads raw `UInt16`, so a section of n values is one
/// `memcpy` each way. The checksum makes a truncated or corrupt file an error, not a wrong resume.
public struct CheckpointArchive: Sendable {
    /// The first 8 bytes of every checkpoint.
    public static let magic: [UInt8] = Array("LIPSCKPT".utf8)
    /// The layout version this code writes and reads.
    public static let formatVersion: UInt32 = 1
    /// Magic, version and section count.
    static let headerSize = 16
    /// The trailing CRC-32.
    static let checksumSize = 4

    /// The sections in file order; names are unique (`add` replaces a section of the same name).
    public var sections: [(name: String, bytes: [UInt8])]
    /// What error messages call this archive: the path it was read from, or "checkpoint".
    public var source: String

    /// An empty archive; `source` names it in error messages.
    public init(source: String = "checkpoint") {
        self.sections = []
        self.source = source
    }

    /// The section names in file order.
    public var names: [String] { sections.map(\.name) }

    /// Whether a section called `name` is present (optional sections, older writers).
    public func contains(_ name: String) -> Bool { sections.contains { $0.name == name } }

    // MARK: - Adding sections

    /// Adds raw bytes as section `name`, replacing any section of that name.
    public mutating func add(_ name: String, bytes: [UInt8]) {
        if let index = sections.firstIndex(where: { $0.name == name }) {
            sections[index].bytes = bytes
        } else {
            sections.append((name: name, bytes: bytes))
        }
    }

    /// Adds Float32 values (little-endian raw), e.g. a flat parameter arena.
    public mutating func add(_ name: String, floats: [Float]) {
        add(name, bytes: CheckpointArchive.rawBytes(floats))
    }

    /// Adds 16-bit values (little-endian raw), e.g. fp16 payloads kept as bit patterns.
    public mutating func add(_ name: String, uint16s: [UInt16]) {
        add(name, bytes: CheckpointArchive.rawBytes(uint16s))
    }

    /// Adds 64-bit values (little-endian raw), e.g. random-generator states and counters.
    public mutating func add(_ name: String, uint64s: [UInt64]) {
        add(name, bytes: CheckpointArchive.rawBytes(uint64s))
    }

    /// Adds `value` as JSON with sorted keys, so equal values give equal bytes (metrics, small state).
    public mutating func add<Value: Encodable>(_ name: String, json value: Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // A metric may be non-finite (an fp16 gradient that overflowed); JSON has no such numbers.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            add(name, bytes: Array(try encoder.encode(value)))
        } catch {
            throw UserError("\(source): section '\(name)' cannot be stored as JSON (\(CheckpointArchive.reason(error)))")
        }
    }

    // MARK: - Reading sections

    /// The raw bytes of section `name`; with `count`, checks there are exactly that many.
    public func bytes(_ name: String, count: Int? = nil) throws -> [UInt8] {
        try values(name, count: count, noun: "bytes")
    }

    /// The Float32 values of section `name`; with `count`, checks there are exactly that many.
    public func floats(_ name: String, count: Int? = nil) throws -> [Float] {
        try values(name, count: count, noun: "floats")
    }

    /// The Float32 values of section `name`, or none when the archive has no such section
    /// (sections added after older checkpoints were written).
    public func floatsIfPresent(_ name: String) throws -> [Float] {
        sections.contains { $0.name == name } ? try floats(name) : []
    }

    /// The 16-bit values of section `name`; with `count`, checks there are exactly that many.
    public func uint16s(_ name: String, count: Int? = nil) throws -> [UInt16] {
        try values(name, count: count, noun: "16-bit values")
    }

    /// The 64-bit values of section `name`; with `count`, checks there are exactly that many.
    public func uint64s(_ name: String, count: Int? = nil) throws -> [UInt64] {
        try values(name, count: count, noun: "64-bit values")
    }

    /// Section `name` decoded from JSON as `type`.
    public func json<Value: Decodable>(_ name: String, as type: Value.Type = Value.self) throws -> Value {
        let bytes = try section(name)
        do {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return try decoder.decode(type, from: Data(bytes))
        } catch {
            throw UserError("\(source): section '\(name)' does not hold a valid \(type) (\(CheckpointArchive.reason(error)))")
        }
    }

    /// The bytes of section `name`, or a `UserError` saying it is missing.
    func section(_ name: String) throws -> [UInt8] {
        guard let found = sections.first(where: { $0.name == name }) else {
            throw UserError("\(source): section '\(name)' missing")
        }
        return found.bytes
    }

    /// Section `name` as values of `Element`, checked to be whole and, with `count`, that many.
    func values<Element: BitwiseCopyable>(_ name: String, count: Int?, noun: String) throws -> [Element] {
        let bytes = try section(name)
        let size = MemoryLayout<Element>.stride
        guard bytes.count % size == 0 else {
            throw UserError("\(source): '\(name)' holds \(bytes.count) bytes, not a whole number of \(noun) (\(size) bytes each)")
        }
        let found = bytes.count / size
        if let count, count != found {
            throw UserError("\(source): '\(name)' holds \(found) \(noun), expected \(count)")
        }
        return CheckpointArchive.values(bytes, as: Element.self)
    }

    // MARK: - Encoding

    /// The whole file: built in one buffer reserved at its final size, so sections of hundreds
    /// of MB are copied once.
    public func encoded() -> [UInt8] {
        var total = CheckpointArchive.headerSize + CheckpointArchive.checksumSize
        for section in sections { total += 4 + section.name.utf8.count + 8 + section.bytes.count }
        var out = [UInt8]()
        out.reserveCapacity(total)
        out.append(contentsOf: CheckpointArchive.magic)
        CheckpointArchive.append(CheckpointArchive.formatVersion, to: &out)
        CheckpointArchive.append(UInt32(sections.count), to: &out)
        for section in sections {
            CheckpointArchive.append(UInt32(section.name.utf8.count), to: &out)
            out.append(contentsOf: section.name.utf8)
            CheckpointArchive.append(UInt64(section.bytes.count), to: &out)
            out.append(contentsOf: section.bytes)
        }
        let checksum = out.withUnsafeBytes { CheckpointArchive.checksum($0) }
        CheckpointArchive.append(checksum, to: &out)
        return out
    }

    /// Writes the archive to `path` atomically (a crash leaves the previous checkpoint).
    public func write(to path: String) throws {
        try AtomicFile.write(encoded(), to: path)
    }

    // MARK: - Decoding

    /// Reads the archive at `path`; a missing, truncated, corrupt or foreign file is a one-line
    /// `UserError` naming it.
    public static func read(from path: String) throws -> CheckpointArchive {
        try decode(try FileReading.bytes(path), source: path)
    }

    /// Parses a whole file's bytes; `source` names it in error messages.
    public static func decode(_ bytes: [UInt8], source: String) throws -> CheckpointArchive {
        let minimum = headerSize + checksumSize
        guard bytes.count >= minimum else {
            throw UserError("\(source): truncated (\(bytes.count) bytes, header and checksum need \(minimum))")
        }
        guard bytes[0..<magic.count].elementsEqual(magic) else {
            throw UserError("\(source): not a lips checkpoint (it does not start with \"LIPSCKPT\")")
        }
        let version = readUInt32(bytes, at: 8)
        guard version == formatVersion else {
            throw UserError("\(source): checkpoint format version \(version), this lips reads version \(formatVersion)")
        }
        let payloadEnd = bytes.count - checksumSize
        let stored = readUInt32(bytes, at: payloadEnd)
        let computed = bytes.withUnsafeBytes { checksum(UnsafeRawBufferPointer(rebasing: $0[0..<payloadEnd])) }
        let layout = walk(bytes)
        if stored != computed {
            // A table that runs past the end usually means a copy cut short, but a damaged length
            // field looks the same.
            if case .overrun(let index, let count, let needed) = layout {
                throw UserError("\(source): truncated or corrupt (\(bytes.count) bytes, but section \(index + 1) of \(count) needs at least \(needed))")
            }
            throw UserError("\(source): bad checksum (the file is corrupt)")
        }
        guard case .complete(let ranges, let end) = layout, end == payloadEnd else {
            throw UserError("\(source): section table does not match the file size (corrupt)")
        }
        var archive = CheckpointArchive(source: source)
        archive.sections.reserveCapacity(ranges.count)
        for range in ranges {
            let name = String(decoding: bytes[range.name], as: UTF8.self)
            guard !archive.contains(name) else { throw UserError("\(source): section '\(name)' appears twice") }
            archive.sections.append((name: name, bytes: Array(bytes[range.bytes])))
        }
        return archive
    }

    /// Where each section's name and bytes are, or where the table first runs past the end.
    enum Layout {
        case complete([(name: Range<Int>, bytes: Range<Int>)], end: Int)
        /// Section `index` of `count` needs the file to be at least `needed` bytes long.
        case overrun(index: Int, count: Int, needed: UInt64)
    }

    /// Walks the section table against the file size (checksum included) without trusting it.
    static func walk(_ bytes: [UInt8]) -> Layout {
        let count = Int(readUInt32(bytes, at: 12))
        var ranges: [(name: Range<Int>, bytes: Range<Int>)] = []
        var offset = headerSize
        for index in 0..<count {
            // Each bound is checked before it is read; lengths come from the file, so compare
            // against what is left rather than adding to offsets (no overflow on garbage).
            guard bytes.count - offset >= 4 + checksumSize else {
                return .overrun(index: index, count: count, needed: UInt64(offset + 4 + checksumSize))
            }
            let nameLength = Int(readUInt32(bytes, at: offset))
            guard bytes.count - offset - 4 >= nameLength + 8 + checksumSize else {
                return .overrun(index: index, count: count, needed: UInt64(offset + 4 + nameLength + 8 + checksumSize))
            }
            let name = (offset + 4)..<(offset + 4 + nameLength)
            let byteCount = readUInt64(bytes, at: name.upperBound)
            let start = name.upperBound + 8
            guard UInt64(bytes.count - start - checksumSize) >= byteCount else {
                let (needed, overflow) = byteCount.addingReportingOverflow(UInt64(start + checksumSize))
                return .overrun(index: index, count: count, needed: overflow ? UInt64.max : needed)
            }
            ranges.append((name: name, bytes: start..<(start + Int(byteCount))))
            offset = start + Int(byteCount)
        }
        return .complete(ranges, end: offset)
    }

    // MARK: - Raw helpers

    /// The in-memory bytes of `values` (little-endian on every supported host): one copy.
    static func rawBytes<Element: BitwiseCopyable>(_ values: [Element]) -> [UInt8] {
        values.withUnsafeBytes { source in
            [UInt8](unsafeUninitializedCapacity: source.count) { buffer, initialized in
                if let base = source.baseAddress, let destination = buffer.baseAddress {
                    UnsafeMutableRawPointer(destination).copyMemory(from: base, byteCount: source.count)
                }
                initialized = source.count
            }
        }
    }

    /// `bytes` reinterpreted as `Element`s (count rounded down): one copy.
    static func values<Element: BitwiseCopyable>(_ bytes: [UInt8], as type: Element.Type) -> [Element] {
        let count = bytes.count / MemoryLayout<Element>.stride
        return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0, let destination = buffer.baseAddress {
                bytes.withUnsafeBytes { source in
                    if let base = source.baseAddress {
                        UnsafeMutableRawPointer(destination).copyMemory(from: base, byteCount: count * MemoryLayout<Element>.stride)
                    }
                }
            }
            initialized = count
        }
    }

    static func append<Value: FixedWidthInteger>(_ value: Value, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    static func readUInt64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }

    /// CRC-32 with zlib, fed in 1 GiB pieces (its length argument is 32-bit).
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = crc32(0, nil, 0)
        guard let base = bytes.baseAddress else { return UInt32(truncatingIfNeeded: crc) }
        var offset = 0
        while offset < bytes.count {
            let length = min(bytes.count - offset, 1 << 30)
            crc = crc32(crc, (base + offset).assumingMemoryBound(to: Bytef.self), uInt(length))
            offset += length
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    /// A decoding error in a few words, on one line.
    static func reason(_ error: Error) -> String {
        let text: String
        switch error {
        case DecodingError.keyNotFound(let key, _): text = "missing key '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
             DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            text = path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        default: text = "\(error)"
        }
        return text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

import Foundation

/// A run's state after a finished round: the simulation snapshot plus the metrics rows so far,
/// in one file written atomically (`checkpoint.bin`).
///
/// Layout: `LIPSCKPT`, format version (UInt32), header length (UInt64), a JSON header (counts,
/// flags, metrics rows), the arrays in a fixed order as raw little-endian values, and an FNV-1a
/// 64 checksum of everything before it, so a truncated or damaged file is refused, not half read.
public struct Checkpoint: Sendable {
    public var snapshot: SimulationSnapshot
    public var rounds: [RoundMetrics]
    public var layers: [LayerMetrics]

    public init(snapshot: SimulationSnapshot, rounds: [RoundMetrics], layers: [LayerMetrics]) {
        self.snapshot = snapshot
        self.rounds = rounds
        self.layers = layers
    }

    static let magic = Array("LIPSCKPT".utf8)
    static let version: UInt32 = 1

    /// What the JSON header holds: the counts of the arrays that follow, small flags, and rows.
    struct Header: Codable {
        var nextRound: Int
        var globalCount: Int
        var statisticsCount: Int
        var referenceCount: Int
        var maskWordCount: Int
        var localValueCount: Int
        var halfGradientCount: Int
        var singleGradientCount: Int
        var hasGradient: [Bool]
        var hasMask: [Bool]
        var hasLocal: [Bool]
        var rounds: [RoundMetrics]
        var layers: [LayerMetrics]
    }

    /// The file's bytes.
    func encoded() throws -> [UInt8] {
        let s = snapshot
        let header = Header(nextRound: s.nextRound, globalCount: s.global.count, statisticsCount: s.globalStatistics.count,
                            referenceCount: s.reference.count, maskWordCount: s.clients.maskWords.count,
                            localValueCount: s.clients.localValues.count, halfGradientCount: s.clients.halfGradients.count,
                            singleGradientCount: s.clients.singleGradients.count, hasGradient: s.clients.hasGradient,
                            hasMask: s.clients.hasMask, hasLocal: s.clients.hasLocal, rounds: rounds, layers: layers)
        let json = Array(try JSONEncoder().encode(header))
        var bytes: [UInt8] = []
        let payload = 4 * (s.global.count + s.globalStatistics.count + s.reference.count + s.clients.localValues.count
                           + s.clients.singleGradients.count) + 8 * s.clients.maskWords.count + 2 * s.clients.halfGradients.count
        bytes.reserveCapacity(Checkpoint.magic.count + 12 + json.count + payload + 8)
        bytes += Checkpoint.magic
        append(Checkpoint.version, to: &bytes)
        append(UInt64(json.count), to: &bytes)
        bytes += json
        for array in [s.global, s.globalStatistics, s.reference, s.clients.localValues, s.clients.singleGradients] {
            array.withUnsafeBytes { bytes += $0 }
        }
        s.clients.maskWords.withUnsafeBytes { bytes += $0 }
        s.clients.halfGradients.withUnsafeBytes { bytes += $0 }
        append(Checkpoint.checksum(bytes[...]), to: &bytes)
        return bytes
    }

    /// Writes the checkpoint atomically.
    public func write(to path: String) throws {
        try AtomicFile.write(try encoded(), to: path)
    }

    /// Reads a checkpoint, refusing a truncated, damaged or foreign file with a one-line error.
    public static func read(from path: String) throws -> Checkpoint {
        try decode(try FileReading.bytes(path), path: path)
    }

    static func decode(_ bytes: [UInt8], path: String) throws -> Checkpoint {
        let prefix = magic.count + 12
        guard bytes.count >= prefix + 8, Array(bytes[0..<magic.count]) == magic else {
            throw UserError("\(path): not a lips checkpoint (\(bytes.count) bytes, no LIPSCKPT header)")
        }
        let stored: UInt64 = load(bytes, at: bytes.count - 8)
        guard stored == checksum(bytes[0..<(bytes.count - 8)]) else {
            throw UserError("\(path): checkpoint damaged or truncated (checksum mismatch); remove it to restart the run")
        }
        let version: UInt32 = load(bytes, at: magic.count)
        guard version == Checkpoint.version else { throw UserError("\(path): checkpoint format \(version), this lips reads \(Checkpoint.version)") }
        let jsonCount = Int(load(bytes, at: magic.count + 4) as UInt64)
        guard prefix + jsonCount <= bytes.count - 8 else { throw UserError("\(path): checkpoint header runs past the end") }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes[prefix..<(prefix + jsonCount)]))
        } catch {
            throw UserError("\(path): checkpoint header unreadable (\(error.localizedDescription))")
        }
        var offset = prefix + jsonCount
        let end = bytes.count - 8
        func take<T>(_ count: Int, _: T.Type) throws -> [T] {
            let size = count * MemoryLayout<T>.size
            guard count >= 0, offset + size <= end else { throw UserError("\(path): checkpoint shorter than its header says") }
            defer { offset += size }
            return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                bytes.withUnsafeBytes { raw in
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + size)]))
                }
                initialized = count
            }
        }
        let global = try take(header.globalCount, Float.self)
        let statistics = try take(header.statisticsCount, Float.self)
        let reference = try take(header.referenceCount, Float.self)
        let local = try take(header.localValueCount, Float.self)
        let single = try take(header.singleGradientCount, Float.self)
        let masks = try take(header.maskWordCount, UInt64.self)
        let half = try take(header.halfGradientCount, UInt16.self)
        guard offset == end else { throw UserError("\(path): checkpoint longer than its header says") }
        let clients = ClientStoreSnapshot(hasGradient: header.hasGradient, hasMask: header.hasMask, hasLocal: header.hasLocal,
                                          maskWords: masks, localValues: local, halfGradients: half, singleGradients: single)
        return Checkpoint(snapshot: SimulationSnapshot(nextRound: header.nextRound, global: global, globalStatistics: statistics,
                                                       reference: reference, clients: clients),
                          rounds: header.rounds, layers: header.layers)
    }

    private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    private static func load<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int) -> T {
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { target in
            for i in 0..<MemoryLayout<T>.size { target[i] = bytes[offset + i] }
        }
        return T(littleEndian: value)
    }

    /// FNV-1a 64 over `bytes`, eight lanes at a time would be faster; one lane is plenty for
    /// checkpoints of tens of MB.
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        bytes.withUnsafeBufferPointer { buffer in
            for byte in buffer { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        return hash
    }
}

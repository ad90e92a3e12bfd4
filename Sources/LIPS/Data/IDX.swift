import Foundation

/// Reader of the IDX format of MNIST and Fashion-MNIST (`.gz` or plain): a big-endian header
/// `00 00 08 D` (08: unsigned bytes, D: dimension count), D big-endian UInt32 sizes, then the data.
enum IDX {
    /// The sizes and payload of an unsigned-byte IDX file with `dimensions` dimensions.
    static func read(_ path: String, dimensions expected: Int) throws -> (sizes: [Int], payload: ArraySlice<UInt8>) {
        let bytes = try FileReading.bytesMaybeGzip(path)
        guard bytes.count >= 4 else { throw UserError("\(path): \(bytes.count) bytes, too short for an IDX header") }
        guard bytes[0] == 0, bytes[1] == 0, bytes[2] == 0x08 else {
            let magic = bytes[0..<4].map { String(format: "%02x", $0) }.joined()
            throw UserError("\(path): bad IDX magic 0x\(magic), expected 0x000008\(String(format: "%02x", expected)) (unsigned bytes)")
        }
        let dimensions = Int(bytes[3])
        guard dimensions == expected else {
            throw UserError("\(path): IDX file has \(dimensions) dimensions, expected \(expected)")
        }
        let headerSize = 4 + 4 * dimensions
        guard bytes.count >= headerSize else { throw UserError("\(path): truncated IDX header") }
        var sizes: [Int] = []
        for d in 0..<dimensions {
            let at = 4 + 4 * d
            sizes.append(Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]))
        }
        let expectedBytes = sizes.reduce(1, *)
        let found = bytes.count - headerSize
        guard found == expectedBytes else {
            throw UserError("\(path): \(sizes.map(String.init).joined(separator: "x")) needs \(expectedBytes) data bytes, \(found) found")
        }
        return (sizes, bytes[headerSize...])
    }
}

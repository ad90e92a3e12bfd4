import Foundation

/// Reader of the IDX format of MNIST and Fashion-MNIST (`.gz` or plain): a big-endian header
/// `00 00 08 D` (08: unsigned bytes, D: dimension count), D big-endian UInt32 sizes, then the data.
///
/// Sizes come from the file, so they are multiplied with overflow checks and compared with what
/// the file holds before anything is allocated for them; a gzip is inflated header first, then
/// never beyond the size its header gives.
enum IDX {
    /// The sizes and payload of an unsigned-byte IDX file with `dimensions` dimensions.
    static func read(_ path: String, dimensions expected: Int) throws -> (sizes: [Int], payload: ArraySlice<UInt8>) {
        try parse(FileReading.bytes(path), path: path, dimensions: expected)
    }

    /// The sizes and payload of the IDX file whose bytes (plain or gzip) are `raw`; `path` names
    /// it in errors. `memoryLimit` bounds what a gzip may decompress to (the memory this process
    /// may use: physical, or its cgroup's limit).
    static func parse(_ raw: [UInt8], path: String, dimensions expected: Int,
                      memoryLimit: UInt64 = MemoryLimit.bytes) throws -> (sizes: [Int], payload: ArraySlice<UInt8>) {
        let gzip = FileReading.isGzip(raw)
        let headerBytes = gzip ? try FileReading.gunzip(raw, path: path, limit: .prefix(bytes: 4 + 4 * expected)) : raw
        let sizes = try header(headerBytes, path: path, dimensions: expected)
        let shape = sizes.map(String.init).joined(separator: "x")
        let headerSize = 4 + 4 * expected
        // The product of up to 255 sizes of up to 2^32 - 1 each, checked at every step. Zero sizes
        // are left out of the check and zero the result, so that every partial product (a record's
        // size, an image's) fits in an Int too, even when another size is 0.
        var product = 1
        var overflow = false
        for size in sizes where size != 0 && !overflow {
            (product, overflow) = product.multipliedReportingOverflow(by: size)
        }
        let payloadSize = sizes.contains(0) ? 0 : product
        let (total, overflowTotal) = payloadSize.addingReportingOverflow(headerSize)
        guard !overflow, !overflowTotal else {
            throw UserError("\(path): IDX header gives \(shape), sizes whose product exceeds \(Int.max) (corrupt header?)")
        }
        let bytes: [UInt8]
        if gzip {
            guard UInt64(total) <= memoryLimit else {
                throw UserError("\(path): IDX header gives \(shape), \(payloadSize) data bytes, more than the memory this process may use (\(memoryLimit) bytes)")
            }
            bytes = try FileReading.gunzip(raw, path: path, limit: .refuseBeyond(
                bytes: total, needs: "its IDX header gives \(shape), \(payloadSize) data bytes"))
        } else {
            bytes = raw
        }
        let found = bytes.count - headerSize
        guard found == payloadSize else {
            throw UserError("\(path): \(shape) needs \(payloadSize) data bytes, \(found) found")
        }
        return (sizes, bytes[headerSize...])
    }

    /// The sizes in the header at the start of `bytes`, after checking magic and dimension count.
    static func header(_ bytes: [UInt8], path: String, dimensions expected: Int) throws -> [Int] {
        guard bytes.count >= 4 else { throw UserError("\(path): \(bytes.count) bytes, too short for an IDX header") }
        guard bytes[0] == 0, bytes[1] == 0, bytes[2] == 0x08 else {
            let magic = bytes[0..<4].map { String(format: "%02x", $0) }.joined()
            throw UserError("\(path): bad IDX magic 0x\(magic), expected 0x000008\(String(format: "%02x", expected)) (unsigned bytes)")
        }
        let dimensions = Int(bytes[3])
        guard dimensions == expected else {
            throw UserError("\(path): IDX file has \(dimensions) dimensions, expected \(expected)")
        }
        guard bytes.count >= 4 + 4 * dimensions else { throw UserError("\(path): truncated IDX header") }
        return (0..<dimensions).map { d in
            let at = 4 + 4 * d
            return Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
        }
    }
}

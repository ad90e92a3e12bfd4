import CZlib
import Foundation

/// Whole-file reads with errors a user can act on.
enum FileReading {
    /// The bytes of `path`; a missing or unreadable file is a `UserError` naming it.
    static func bytes(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw UserError("\(path): file not found")
        }
        guard !isDirectory.boolValue else { throw UserError("\(path): is a folder, expected a file") }
        // fread straight into the array: one copy from the page cache, none through Data.
        guard let file = fopen(path, "rb") else { throw UserError("\(path): cannot be read (permissions?)") }
        defer { fclose(file) }
        fseeko(file, 0, SEEK_END)
        let size = Int(ftello(file))
        fseeko(file, 0, SEEK_SET)
        guard size >= 0 else { throw UserError("\(path): cannot be read (size unknown)") }
        var readCount = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            readCount = size == 0 ? 0 : fread(buffer.baseAddress, 1, size, file)
            initialized = readCount
        }
        guard readCount == size else { throw UserError("\(path): read \(readCount) of \(size) bytes") }
        return bytes
    }

    /// Whether `bytes` start with the gzip magic (1f 8b).
    static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// How `gunzip` ends: at the end of the stream, or early.
    enum InflateLimit {
        /// Inflate everything, refusing more than `bytes` of output; `needs` says why, as in
        /// "PATH: NEEDS, but it decompresses to more" (e.g. "its IDX header gives 3x28x28, 2368 bytes").
        case refuseBeyond(bytes: Int, needs: String)
        /// Stop once `bytes` of output are there (a header to check before the rest), or at the end.
        case prefix(bytes: Int)
    }

    /// Inflates a gzip stream with zlib (all members, as `gzip -d` does), never holding more than
    /// `limit` allows plus one 64 KiB piece.
    static func gunzip(_ compressed: [UInt8], path: String, limit: InflateLimit) throws -> [UInt8] {
        var stream = z_stream()
        // 15 window bits + 32: detect gzip or zlib headers automatically.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw UserError("\(path): zlib could not start")
        }
        defer { inflateEnd(&stream) }
        let bound: Int
        switch limit {
        case .refuseBeyond(let bytes, _), .prefix(let bytes): bound = max(0, bytes)
        }
        var output = [UInt8]()
        // The bound comes from the file: reserve what a 4:1 ratio gives at most, grow beyond that.
        output.reserveCapacity(min(bound, compressed.count.multipliedReportingOverflow(by: 4).partialValue))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        return try compressed.withUnsafeBufferPointer { input -> [UInt8] in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            // zlib counts input in UInt32: feed it in pieces of at most 1 GiB.
            var remaining = input.count
            func refill() {
                let piece = min(remaining, 1 << 30)
                stream.avail_in = UInt32(piece)
                remaining -= piece
            }
            refill()
            while true {
                let status = chunk.withUnsafeMutableBufferPointer { buffer -> Int32 in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = UInt32(buffer.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                if case .refuseBeyond(_, let needs) = limit, produced > bound - output.count {
                    throw UserError("\(path): \(needs), but it decompresses to more")
                }
                output.append(contentsOf: chunk[0..<produced])
                if case .prefix = limit, output.count >= bound { return output }
                if stream.avail_in == 0 && remaining > 0 { refill() }
                switch status {
                case Z_STREAM_END:
                    // A further gzip member may follow (concatenated .gz files).
                    if stream.avail_in > 0 && inflateReset(&stream) == Z_OK { continue }
                    return output
                case Z_OK:
                    if stream.avail_in == 0 && stream.avail_out != 0 {
                        throw UserError("\(path): corrupt gzip (truncated stream)")
                    }
                case Z_BUF_ERROR:
                    throw UserError("\(path): corrupt gzip (truncated stream)")
                default:
                    let reason = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw UserError("\(path): corrupt gzip (\(reason))")
                }
            }
        }
    }
}

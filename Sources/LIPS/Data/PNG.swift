import CZlib
import Foundation

/// A PNG decoder (the W3C/ISO 15948 format) on zlib, which the engine already links: every colour
/// type, bit depths 1 to 16, Adam7 interlacing, all five row filters. Enough for
/// `lips data prepare image-folder` without another system library; ancillary chunks (gamma,
/// colour profiles, text) are skipped, as most decoders do by default.
///
/// Output: 8-bit samples, interleaved, 1 channel (grey) or 3 (RGB). Alpha is dropped, not
/// composited (as PIL's `convert("RGB")`, which torchvision's loader calls); palettes are
/// expanded to RGB; 16-bit samples keep their high byte; 1-, 2- and 4-bit grey is scaled to
/// 0...255 (value × 255 / (2^depth − 1)).
enum PNG {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func isPNG(_ bytes: [UInt8]) -> Bool { bytes.count >= 8 && Array(bytes[0..<8]) == signature }

    /// Decodes `bytes` (`path` names the file in errors). Images of more than `maximumPixels`
    /// pixels are refused before anything of their size is allocated.
    static func decode(_ bytes: [UInt8], path: String, maximumPixels: Int) throws -> DecodedImage {
        guard isPNG(bytes) else { throw UserError("\(path): not a PNG file (no PNG signature)") }
        var header: (width: Int, height: Int, depth: Int, colour: Int, interlaced: Bool)?
        var palette: [UInt8] = []
        var compressed: [UInt8] = []
        var position = 8
        var ended = false
        while !ended {
            guard position + 12 <= bytes.count else { throw UserError("\(path): truncated PNG (no IEND chunk)") }
            let length = Int(bigEndian32(bytes, position))
            let type = String(decoding: bytes[(position + 4)..<(position + 8)], as: UTF8.self)
            guard length <= Int(Int32.max), position + 12 + length <= bytes.count else {
                throw UserError("\(path): truncated PNG (chunk \(type) of \(length) bytes runs past the end)")
            }
            let data = position + 8, end = data + length
            let stored = bigEndian32(bytes, end)
            let computed = bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress! + position + 4, uInt(length + 4))) }
            guard stored == computed else { throw UserError("\(path): corrupt PNG (CRC mismatch in chunk \(type))") }
            if header == nil && type != "IHDR" { throw UserError("\(path): corrupt PNG (first chunk is \(type), not IHDR)") }
            switch type {
            case "IHDR":
                guard header == nil, length == 13 else { throw UserError("\(path): corrupt PNG (bad IHDR chunk)") }
                let width = Int(bigEndian32(bytes, data)), height = Int(bigEndian32(bytes, data + 4))
                let depth = Int(bytes[data + 8]), colour = Int(bytes[data + 9])
                let allowed: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
                guard allowed[colour]?.contains(depth) == true else {
                    throw UserError("\(path): corrupt PNG (colour type \(colour) with bit depth \(depth))")
                }
                guard bytes[data + 10] == 0, bytes[data + 11] == 0, bytes[data + 12] <= 1 else {
                    throw UserError("\(path): corrupt PNG (unknown compression, filter or interlace method)")
                }
                guard width >= 1, height >= 1, width <= Int(Int32.max), height <= Int(Int32.max) else {
                    throw UserError("\(path): corrupt PNG (size \(width)x\(height))")
                }
                guard width <= maximumPixels / height else {
                    throw UserError("\(path): image is \(width)x\(height), more than the \(maximumPixels) pixels accepted (shrink it first)")
                }
                header = (width, height, depth, colour, bytes[data + 12] == 1)
            case "PLTE":
                guard length % 3 == 0, length > 0, length <= 768 else { throw UserError("\(path): corrupt PNG (palette of \(length) bytes)") }
                palette = Array(bytes[data..<end])
            case "IDAT":
                compressed.append(contentsOf: bytes[data..<end])
            case "IEND":
                ended = true
            default:
                // An unknown critical chunk (upper-case first letter) cannot be skipped safely.
                if let first = type.unicodeScalars.first, ("A"..."Z").contains(first) {
                    throw UserError("\(path): PNG chunk \(type) is not supported")
                }
            }
            position = end + 4
        }
        guard let header else { throw UserError("\(path): corrupt PNG (no IHDR chunk)") }
        if header.colour == 3 && palette.isEmpty { throw UserError("\(path): corrupt PNG (palette image without PLTE)") }
        let samples = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][header.colour]!
        let bitsPerPixel = samples * header.depth
        let passes = Adam7.passes(width: header.width, height: header.height, interlaced: header.interlaced)
        // Bytes the filtered scanlines take: a filter byte and ceil(width × bits / 8) per row, per pass.
        let rowBytes = passes.map { ($0.width * bitsPerPixel + 7) / 8 }
        let rawSize = zip(passes, rowBytes).reduce(0) { $0 + ($1.0.width == 0 ? 0 : $1.0.height * (1 + $1.1)) }
        let raw = try inflate(compressed, expected: rawSize, path: path)

        let channels = header.colour == 2 || header.colour == 3 || header.colour == 6 ? 3 : 1
        var pixels = [UInt8](repeating: 0, count: header.width * header.height * channels)
        let bytesPerPixel = max(1, bitsPerPixel / 8)
        var offset = 0
        for (pass, stride) in zip(passes, rowBytes) where pass.width > 0 && pass.height > 0 {
            var previous = [UInt8](repeating: 0, count: stride)
            var row = [UInt8](repeating: 0, count: stride)
            for y in 0..<pass.height {
                let filter = raw[offset]
                for k in 0..<stride { row[k] = raw[offset + 1 + k] }
                offset += 1 + stride
                try unfilter(&row, previous: previous, filter: filter, bytesPerPixel: bytesPerPixel, path: path)
                for x in 0..<pass.width {
                    let target = ((pass.y0 + y * pass.dy) * header.width + pass.x0 + x * pass.dx) * channels
                    try store(row, x: x, header: (header.depth, header.colour, samples), palette: palette,
                              into: &pixels, at: target, path: path)
                }
                swap(&row, &previous)
            }
        }
        return DecodedImage(width: header.width, height: header.height, channels: channels, pixels: pixels)
    }

    /// Writes pixel `x` of an unfiltered row as 8-bit grey or RGB, dropping alpha.
    private static func store(_ row: [UInt8], x: Int, header: (depth: Int, colour: Int, samples: Int), palette: [UInt8],
                              into pixels: inout [UInt8], at target: Int, path: String) throws {
        if header.depth < 8 {
            let bit = x * header.depth
            let value = Int(row[bit / 8] >> UInt8(8 - header.depth - bit % 8)) & ((1 << header.depth) - 1)
            if header.colour == 3 {
                try expand(value, palette: palette, into: &pixels, at: target, path: path)
            } else {
                pixels[target] = UInt8(value * 255 / ((1 << header.depth) - 1))
            }
            return
        }
        // 8 or 16 bits a sample; the first (high) byte of each sample is kept.
        let sampleBytes = header.depth / 8
        let base = x * header.samples * sampleBytes
        switch header.colour {
        case 3: try expand(Int(row[base]), palette: palette, into: &pixels, at: target, path: path)
        case 2, 6:
            for c in 0..<3 { pixels[target + c] = row[base + c * sampleBytes] }
        default: pixels[target] = row[base]
        }
    }

    private static func expand(_ index: Int, palette: [UInt8], into pixels: inout [UInt8], at target: Int, path: String) throws {
        guard 3 * index + 2 < palette.count else {
            throw UserError("\(path): corrupt PNG (palette index \(index) beyond its \(palette.count / 3) entries)")
        }
        for c in 0..<3 { pixels[target + c] = palette[3 * index + c] }
    }

    /// Undoes one scanline's filter (none, sub, up, average, Paeth) in place.
    private static func unfilter(_ row: inout [UInt8], previous: [UInt8], filter: UInt8, bytesPerPixel: Int, path: String) throws {
        let n = row.count
        switch filter {
        case 0: return
        case 1: for k in bytesPerPixel..<max(bytesPerPixel, n) { row[k] &+= row[k - bytesPerPixel] }
        case 2: for k in 0..<n { row[k] &+= previous[k] }
        case 3:
            for k in 0..<n {
                let left = k >= bytesPerPixel ? Int(row[k - bytesPerPixel]) : 0
                row[k] &+= UInt8((left + Int(previous[k])) / 2)
            }
        case 4:
            for k in 0..<n {
                let a = k >= bytesPerPixel ? Int(row[k - bytesPerPixel]) : 0
                let b = Int(previous[k]), c = k >= bytesPerPixel ? Int(previous[k - bytesPerPixel]) : 0
                let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                row[k] &+= UInt8(pa <= pb && pa <= pc ? a : pb <= pc ? b : c)
            }
        default: throw UserError("\(path): corrupt PNG (unknown row filter \(filter))")
        }
    }

    /// Inflates the concatenated IDAT data, which must give exactly `expected` bytes.
    private static func inflate(_ compressed: [UInt8], expected: Int, path: String) throws -> [UInt8] {
        guard compressed.count <= Int(UInt32.max) else { throw UserError("\(path): PNG image data of more than 4 GB") }
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw UserError("\(path): zlib could not start")
        }
        defer { inflateEnd(&stream) }
        // One spare byte: a stream that would give more than expected shows it by filling it.
        var output = [UInt8](repeating: 0, count: expected + 1)
        var input = compressed
        let status = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target -> Int32 in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        let produced = output.count - Int(stream.avail_out)
        guard status == Z_STREAM_END else {
            if produced > expected { throw UserError("\(path): corrupt PNG (image data longer than its size gives)") }
            if status == Z_BUF_ERROR || status == Z_OK { throw UserError("\(path): truncated PNG (image data ends early)") }
            let reason = stream.msg.map { String(cString: $0) } ?? "error \(status)"
            throw UserError("\(path): corrupt PNG (zlib: \(reason))")
        }
        guard produced == expected else {
            throw UserError("\(path): corrupt PNG (image data of \(produced) bytes, its size needs \(expected))")
        }
        output.removeLast()
        return output
    }

    private static func bigEndian32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (UInt32(bytes[at]) << 24) | (UInt32(bytes[at + 1]) << 16) | (UInt32(bytes[at + 2]) << 8) | UInt32(bytes[at + 3])
    }

    /// The seven passes of Adam7 (or one pass of the whole image): their first pixel, step and size.
    enum Adam7 {
        struct Pass { let x0, y0, dx, dy, width, height: Int }

        static func passes(width: Int, height: Int, interlaced: Bool) -> [Pass] {
            guard interlaced else { return [Pass(x0: 0, y0: 0, dx: 1, dy: 1, width: width, height: height)] }
            let starts = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            return starts.map { x0, y0, dx, dy in
                Pass(x0: x0, y0: y0, dx: dx, dy: dy,
                     width: width > x0 ? (width - x0 + dx - 1) / dx : 0, height: height > y0 ? (height - y0 + dy - 1) / dy : 0)
            }
        }
    }
}

/// A decoded image: 8-bit samples, interleaved, `channels` (1 grey or 3 RGB) per pixel.
struct DecodedImage {
    let width: Int
    let height: Int
    let channels: Int
    let pixels: [UInt8]
}

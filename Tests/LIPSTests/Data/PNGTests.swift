import CZlib
import Foundation
import Testing
@testable import LIPS

/// A PNG written here, independently of the decoder: 8-bit samples, filter 0 on every row, one
/// IDAT (zlib's compress), CRCs from zlib. Colour type: 0 grey, 2 RGB, 4 grey + alpha, 6 RGBA
/// for `channels` 1, 3, 2, 4.
func pngBytes(width: Int, height: Int, channels: Int, pixels: [UInt8]) -> [UInt8] {
    precondition(pixels.count == width * height * channels)
    func be32(_ value: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }
    func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        let crc = body.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, uInt($0.count))) }
        return be32(data.count) + body + be32(crc)
    }
    var raw: [UInt8] = []
    for y in 0..<height { raw += [0] + pixels[(y * width * channels)..<((y + 1) * width * channels)] }
    var compressed = [UInt8](repeating: 0, count: Int(compressBound(uLong(raw.count))))
    var size = uLongf(compressed.count)
    _ = compressed.withUnsafeMutableBufferPointer { out in raw.withUnsafeBufferPointer { compress(out.baseAddress, &size, $0.baseAddress, uLong($0.count)) } }
    let colour: UInt8 = [1: 0, 2: 4, 3: 2, 4: 6][channels]!
    return PNG.signature + chunk("IHDR", be32(width) + be32(height) + [8, colour, 0, 0, 0])
        + chunk("IDAT", Array(compressed.prefix(Int(size)))) + chunk("IEND", [])
}

/// The PNG decoder: every colour type and bit depth, interlaced or not, against the formula that
/// wrote the fixtures (Tests/LIPSTests/Fixtures/png/make_png_fixtures.py); and damaged files.
@Suite struct PNGTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/png")

    /// make_png_fixtures.py's `sample` and `palette_entry`.
    static func sample(_ x: Int, _ y: Int, _ c: Int, depth: Int) -> Int { (x * 37 + y * 11 + c * 71 + x * y * 5) % (1 << depth) }
    static func paletteEntry(_ i: Int) -> [Int] { [(i * 3) % 256, (i * 5 + 17) % 256, (i * 7 + 101) % 256] }

    static let cases: [(colour: Int, depth: Int)] = [(0, 1), (0, 2), (0, 4), (0, 8), (0, 16), (2, 8), (2, 16), (3, 1), (3, 2),
                                                     (3, 4), (3, 8), (4, 8), (4, 16), (6, 8), (6, 16)]

    @Test(arguments: cases, [false, true])
    func fixturesDecodeToTheirFormula(type: (colour: Int, depth: Int), interlaced: Bool) throws {
        let name = "c\(type.colour)_d\(type.depth)\(interlaced ? "_i" : "").png"
        let bytes = try FileReading.bytes(Self.fixtures.appendingPathComponent(name).path)
        let image = try PNG.decode(bytes, path: name, maximumPixels: 1000)
        #expect(image.width == 13 && image.height == 11)
        let channels = [0: 1, 4: 1, 2: 3, 3: 3, 6: 3][type.colour]!
        #expect(image.channels == channels)
        var mismatches = 0
        for y in 0..<11 {
            for x in 0..<13 {
                for c in 0..<channels {
                    let expected: Int
                    switch (type.colour, type.depth) {
                    case (3, _): expected = Self.paletteEntry(Self.sample(x, y, 0, depth: type.depth))[c]
                    case (_, 16): expected = Self.sample(x, y, c, depth: 16) >> 8
                    case (_, 8): expected = Self.sample(x, y, c, depth: 8)
                    default: expected = Self.sample(x, y, c, depth: type.depth) * 255 / ((1 << type.depth) - 1)
                    }
                    if Int(image.pixels[(y * 13 + x) * channels + c]) != expected { mismatches += 1 }
                }
            }
        }
        #expect(mismatches == 0, "\(name): \(mismatches) samples differ")
    }

    @Test func writtenPNGRoundTrips() throws {
        let pixels = (0..<(5 * 3 * 4)).map { UInt8($0 * 4) }
        let image = try PNG.decode(pngBytes(width: 5, height: 3, channels: 4, pixels: pixels), path: "rgba.png", maximumPixels: 100)
        #expect(image.channels == 3)
        let rgb: [UInt8] = (0..<15).flatMap { (p: Int) -> [UInt8] in Array(pixels[(4 * p)..<(4 * p + 3)]) }
        #expect(image.pixels == rgb, "alpha dropped")
    }

    @Test func damagedPNGsAreRefusedInOneLine() throws {
        let good = pngBytes(width: 4, height: 4, channels: 3, pixels: [UInt8](repeating: 9, count: 48))
        expectUserError("cut.png", "truncated PNG") { _ = try PNG.decode(Array(good.prefix(good.count - 20)), path: "cut.png", maximumPixels: 100) }
        var flipped = good
        flipped[40] ^= 0x01  // inside IDAT: the CRC no longer matches
        expectUserError("crc.png", "CRC mismatch") { _ = try PNG.decode(flipped, path: "crc.png", maximumPixels: 100) }
        expectUserError("big.png", "4x4", "more than the 15 pixels") { _ = try PNG.decode(good, path: "big.png", maximumPixels: 15) }
        expectUserError("not.png", "no PNG signature") { _ = try PNG.decode([1, 2, 3], path: "not.png", maximumPixels: 100) }
        // A filter byte of 7 on the first row (the data re-compressed with valid CRCs).
        var badFilter = [UInt8](repeating: 0, count: 4 * 13)
        badFilter[0] = 7
        expectUserError("filter.png", "unknown row filter 7") {
            _ = try PNG.decode(Self.withRawData(badFilter, width: 4, height: 4), path: "filter.png", maximumPixels: 100)
        }
        // Image data one row short.
        expectUserError("short.png", "image data") {
            _ = try PNG.decode(Self.withRawData([UInt8](repeating: 0, count: 3 * 13), width: 4, height: 4), path: "short.png", maximumPixels: 100)
        }
    }

    /// An RGB 8-bit PNG of the given size whose IDAT holds `raw` (filter bytes included) as is.
    static func withRawData(_ raw: [UInt8], width: Int, height: Int) -> [UInt8] {
        let png = pngBytes(width: width, height: height, channels: 3, pixels: [UInt8](repeating: 0, count: width * height * 3))
        // Replace the IDAT chunk, which starts after the signature (8) and IHDR (25) bytes.
        var compressed = [UInt8](repeating: 0, count: Int(compressBound(uLong(raw.count))))
        var size = uLongf(compressed.count)
        _ = compressed.withUnsafeMutableBufferPointer { out in raw.withUnsafeBufferPointer { compress(out.baseAddress, &size, $0.baseAddress, uLong($0.count)) } }
        let data = Array(compressed.prefix(Int(size)))
        func be32(_ value: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }
        let body = Array("IDAT".utf8) + data
        let crc = body.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, uInt($0.count))) }
        return Array(png.prefix(33)) + be32(data.count) + body + be32(crc) + Array(png.suffix(12))
    }
}

import CZlib
import Foundation
@testable import LIPS

/// An IDX file: magic 00 00 08 D, big-endian sizes, payload.
func idxBytes(sizes: [Int], payload: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = [0, 0, 8, UInt8(sizes.count)]
    for size in sizes {
        for shift in [24, 16, 8, 0] { bytes.append(UInt8(truncatingIfNeeded: size >> shift)) }
    }
    return bytes + payload
}

/// gzip-compresses `bytes` with zlib (window bits 15 + 16 selects the gzip wrapper).
func gzipBytes(_ bytes: [UInt8]) -> [UInt8] {
    var stream = z_stream()
    deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    defer { deflateEnd(&stream) }
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
    var input = bytes
    let written = input.withUnsafeMutableBufferPointer { inp in
        output.withUnsafeMutableBufferPointer { out -> Int in
            stream.next_in = inp.baseAddress
            stream.avail_in = UInt32(inp.count)
            stream.next_out = out.baseAddress
            stream.avail_out = UInt32(out.count)
            deflate(&stream, Z_FINISH)
            return out.count - Int(stream.avail_out)
        }
    }
    return Array(output.prefix(written))
}

/// A small MNIST-style folder: `train` and `test` images of 28×28 with labels `i % 10`,
/// pixel (i, p) = (i·7 + p) % 256; gzipped or plain.
func writeMNISTFolder(_ folder: TemporaryFolder, train: Int, test: Int, gzip: Bool) throws {
    for (prefix, count) in [("train", train), ("t10k", test)] {
        let pixels = mnistPixels(count)
        let labels = (0..<count).map { UInt8($0 % 10) }
        let images = idxBytes(sizes: [count, 28, 28], payload: pixels)
        let labelFile = idxBytes(sizes: [count], payload: labels)
        try folder.write("\(prefix)-images-idx3-ubyte" + (gzip ? ".gz" : ""), gzip ? gzipBytes(images) : images)
        try folder.write("\(prefix)-labels-idx1-ubyte" + (gzip ? ".gz" : ""), gzip ? gzipBytes(labelFile) : labelFile)
    }
}

/// CIFAR records: `labelBytes` label bytes (the last is the class `i % classes`) then 3072 pixels
/// with pixel (i, p) = (i + p) % 256.
func cifarRecords(count: Int, labelBytes: Int, classes: Int, first: Int = 0) -> [UInt8] {
    var bytes: [UInt8] = []
    for i in first..<(first + count) {
        if labelBytes == 2 { bytes.append(UInt8(i % 20)) }
        bytes.append(UInt8(i % classes))
        bytes += (0..<3072).map { UInt8((i + $0) % 256) }
    }
    return bytes
}

/// Pixel p of image i is (i·7 + p) mod 256.
func mnistPixels(_ count: Int) -> [UInt8] {
    var pixels = [UInt8](repeating: 0, count: count * 784)
    for i in 0..<count {
        for p in 0..<784 { pixels[i * 784 + p] = UInt8(truncatingIfNeeded: i * 7 + p) }
    }
    return pixels
}

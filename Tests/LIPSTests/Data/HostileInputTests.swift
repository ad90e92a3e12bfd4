import Foundation
import Testing
@testable import LIPS

/// Data files whose sizes come from the file itself (issue 16; `make fuzz` finds such inputs): each
/// is a one-line error, found before anything of the size the file claims is allocated.
@Suite struct HostileDataTests {
    /// Header sizes 0xFFFFFFFF (the product overflows Int) and a zero count with two sizes whose
    /// product overflows (an image size, `Shape.count`): both had trapped with an arithmetic overflow.
    @Test(arguments: [[0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], [0, 0xFCFF_FFFF, 0xEF00_0000]])
    func idxSizesWhoseProductOverflowsAreRefused(sizes: [Int]) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try writeMNISTFolder(folder, train: 3, test: 2, gzip: false)
        try folder.write("train-images-idx3-ubyte", idxBytes(sizes: sizes, payload: []))
        // As `lips run --set dataset=mnist --set data_dir=FOLDER` reads it.
        expectUserError("train-images-idx3-ubyte", "sizes whose product exceeds") {
            _ = try DatasetCatalog.load("mnist", directory: folder.path)
        }
        try FileManager.default.removeItem(atPath: folder.file("train-images-idx3-ubyte"))
        try folder.write("train-images-idx3-ubyte.gz", gzipBytes(idxBytes(sizes: sizes, payload: [])))
        expectUserError("train-images-idx3-ubyte.gz", "sizes whose product exceeds") {
            _ = try MNISTReader.load(directory: folder.path, name: "mnist")
        }
    }

    /// A gzip whose header gives one 28×28 image but that inflates to 16 MB more is refused once
    /// inflation passes the header's size, not after inflating all of it.
    @Test func gzipIsInflatedNoFurtherThanItsIDXHeaderSays() throws {
        let bomb = gzipBytes(idxBytes(sizes: [1, 28, 28], payload: [UInt8](repeating: 0, count: 16 << 20)))
        #expect(bomb.count < 100_000)
        let message = userErrorMessage { _ = try IDX.parse(bomb, path: "images.gz", dimensions: 3) }
        #expect(message == "images.gz: its IDX header gives 1x28x28, 784 data bytes, but it decompresses to more")
        // Only the first piece past the header's size is ever inflated.
        #expect(throws: UserError.self) {
            _ = try FileReading.gunzip(bomb, path: "images.gz", limit: .refuseBeyond(bytes: 800, needs: "800 bytes"))
        }
        let prefix = try FileReading.gunzip(bomb, path: "images.gz", limit: .prefix(bytes: 16))
        #expect(prefix.count >= 16 && prefix.count <= 1 << 16)
        #expect(Array(prefix.prefix(4)) == [0, 0, 8, 3])
    }

    /// A gzip's header that claims more than the process may hold is refused before inflating.
    @Test func gzipHeaderBeyondMemoryIsRefused() throws {
        let file = gzipBytes(idxBytes(sizes: [2, 1000, 1000], payload: [UInt8](repeating: 7, count: 2_000_000)))
        let message = userErrorMessage { _ = try IDX.parse(file, path: "big.gz", dimensions: 3, memoryLimit: 1 << 20) }
        #expect(message == "big.gz: IDX header gives 2x1000x1000, 2000000 data bytes, more than the memory this process may use (1048576 bytes)")
        #expect(try IDX.parse(file, path: "big.gz", dimensions: 3, memoryLimit: 4 << 20).sizes == [2, 1000, 1000])
    }

    /// A gzip that stops inside the header, a header that is cut short, and concatenated members.
    @Test func gzipHeaderEdgesAreHandled() throws {
        let file = idxBytes(sizes: [2, 3, 3], payload: (0..<18).map { UInt8($0) })
        let whole = try IDX.parse(gzipBytes(Array(file.prefix(10))) + gzipBytes(Array(file.dropFirst(10))),
                                  path: "two.gz", dimensions: 3)
        #expect(whole.sizes == [2, 3, 3] && Array(whole.payload) == (0..<18).map { UInt8($0) })
        expectUserError("short.gz", "truncated IDX header") {
            _ = try IDX.parse(gzipBytes(Array(file.prefix(9))), path: "short.gz", dimensions: 3)
        }
    }

    /// Images of no pixels (a size 0) pass the size checks but cannot be trained on.
    @Test func mnistImagesWithoutPixelsAreRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try writeMNISTFolder(folder, train: 3, test: 2, gzip: false)
        try folder.write("train-images-idx3-ubyte", idxBytes(sizes: [3, 0, 28], payload: []))
        expectUserError("train-images-idx3-ubyte", "images of 0x28 pixels") {
            _ = try MNISTReader.load(directory: folder.path, name: "mnist")
        }
    }
}

@Suite struct HostileJPEGTests {
    /// `jpeg` with its frame header (SOF0) made progressive (SOF2) and claiming `width`×`height`.
    static func claimingProgressive(_ jpeg: [UInt8], width: Int, height: Int) -> [UInt8] {
        var bytes = jpeg
        var at = 2  // after SOI; every segment is FF, marker, 2-byte length
        while at + 4 <= bytes.count, bytes[at] == 0xFF {
            let marker = bytes[at + 1]
            if marker == 0xC0 {
                bytes[at + 1] = 0xC2
                bytes[at + 5] = UInt8(height >> 8); bytes[at + 6] = UInt8(height & 0xFF)
                bytes[at + 7] = UInt8(width >> 8); bytes[at + 8] = UInt8(width & 0xFF)
                return bytes
            }
            at += 2 + (Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]))
        }
        Issue.record("no SOF0 segment")
        return bytes
    }

    /// A progressive file claiming 20000×20000 is measured from its header and refused as too
    /// large before libjpeg allocates its whole-image coefficient buffers (1.2 GB here, about 12 GB
    /// for the 65500×65500 a header may claim) and reads its scans; it had come back as a libjpeg error
    /// after that allocation.
    @Test func hugeProgressiveJPEGIsMeasuredBeforeDecoding() throws {
        let pixels = (0..<(8 * 8 * 3)).map { UInt8(truncatingIfNeeded: $0 * 5) }
        let small = try JPEG.encode(pixels, width: 8, height: 8, components: 3)
        #expect(try JPEG.decodeRGB(small, path: "small.jpeg", capacity: 64 * 64 * 3).rgb.count == 8 * 8 * 3)
        let huge = Self.claimingProgressive(small, width: 20_000, height: 20_000)
        let image = try JPEG.decodeRGB(huge, path: "huge.jpeg", capacity: 64 * 64 * 3)
        #expect(image.width == 20_000 && image.height == 20_000 && image.rgb.isEmpty)
    }
}

import Foundation

/// Training-time augmentation, applied in this order: horizontal flip, rotation, random crop
/// (docs/semantics.md §1).
public struct Augmentation: Sendable, Equatable {
    /// Flip left-right with probability 0.5.
    public var horizontalFlip: Bool
    /// Rotate by a uniform angle in ±degrees (nearest neighbour, zero fill); 0 for none.
    public var rotationDegrees: Double
    /// Random crop of the original size after zero padding by this many pixels; 0 for none.
    public var cropPadding: Int

    public init(horizontalFlip: Bool = false, rotationDegrees: Double = 0, cropPadding: Int = 0) {
        self.horizontalFlip = horizontalFlip
        self.rotationDegrees = rotationDegrees
        self.cropPadding = cropPadding
    }

    public static let none = Augmentation()
    public var isNone: Bool { self == .none }
}

/// Turns UInt8 images into a Float batch, channel-major (C, N, H, W), ready for a model:
/// `x / 255`, then per-channel `(x − mean) / std` when given. Grey images are copied to three
/// channels and 28×28 images are zero-padded to 32×32, so every model keeps a 3-channel stem
/// (docs/semantics.md §1).
public struct BatchAssembler: Sendable {
    public let imageShape: Shape
    public let inputShape: Shape
    public let mean: [Float]
    public let standardDeviation: [Float]
    public let augmentation: Augmentation
    /// `levels[c · 256 + v]`: the input value of stored byte v in channel c, `(v / 255 − mean) / std`,
    /// worked out once so assembling a batch is a table lookup per value instead of two divisions.
    /// Padding (outside the stored image) takes byte 0's level, as ToTensor then Normalize give it.
    private let levels: [Float]
    /// The model input for stored images of `shape`: 3 channels, 28×28 padded to 32×32.
    public static func inputShape(for shape: Shape) -> Shape {
        let side = { (size: Int) in size == 28 ? 32 : size }
        return Shape(channels: shape.channels == 1 ? 3 : shape.channels, height: side(shape.height), width: side(shape.width))
    }

    public init(imageShape: Shape, normalization: (mean: [Float], std: [Float])? = nil, augmentation: Augmentation = .none) throws {
        self.imageShape = imageShape
        inputShape = BatchAssembler.inputShape(for: imageShape)
        let channels = inputShape.channels
        if let normalization {
            guard normalization.mean.count == channels, normalization.std.count == channels else {
                throw UserError("normalisation needs \(channels) means and \(channels) stds, got \(normalization.mean.count) and \(normalization.std.count)")
            }
            guard normalization.std.allSatisfy({ $0 > 0 }) else { throw UserError("normalisation std must be positive") }
            mean = normalization.mean
            standardDeviation = normalization.std
        } else {
            mean = [Float](repeating: 0, count: channels)
            standardDeviation = [Float](repeating: 1, count: channels)
        }
        guard augmentation.cropPadding >= 0, augmentation.rotationDegrees >= 0 else {
            throw UserError("augmentation crop padding and rotation must be non-negative")
        }
        self.augmentation = augmentation
        levels = (0..<channels).flatMap { [mean, standardDeviation] c in
            // As ToTensor then Normalize: divide first, so unnormalised values equal v / 255 exactly.
            (0..<256).map { (Float($0) / 255 - mean[c]) / standardDeviation[c] }
        }
    }

    /// Writes the samples `indices` of `dataset` into `output` (C, N, H, W) with N = indices.count,
    /// and their labels into `labels`. `random` drives augmentation; nil means none (evaluation).
    public func assemble<Indices: Collection>(
        _ dataset: Dataset, indices: Indices, into output: UnsafeMutableBufferPointer<Float>,
        labels: UnsafeMutableBufferPointer<Int32>, random: inout RandomStream?
    ) where Indices.Element == Int {
        precondition(dataset.imageShape == imageShape, "BatchAssembler: dataset images \(dataset.imageShape), expected \(imageShape)")
        let n = indices.count
        precondition(output.count >= n * inputShape.count && labels.count >= n, "BatchAssembler: buffers too small for \(n) samples")
        let h = inputShape.height, w = inputShape.width, plane = h * w
        let sourceH = imageShape.height, sourceW = imageShape.width
        let marginY = (h - sourceH) / 2, marginX = (w - sourceW) / 2
        dataset.pixels.withUnsafeBufferPointer { pixels in
            levels.withUnsafeBufferPointer { levels in
                for (sample, index) in indices.enumerated() {
                    labels[sample] = dataset.labels[index]
                    let image = pixels.baseAddress! + index * imageShape.count
                    if random == nil || augmentation.isNone {
                        copyPlain(image, sample: sample, of: n, levels: levels.baseAddress!, into: output.baseAddress!)
                        continue
                    }
                    // The geometric transform of this sample, drawn in a fixed order.
                    var flip = false, cosine = 1.0, sine = 0.0, cropY = 0, cropX = 0
                    if augmentation.horizontalFlip { flip = random!.nextUniform() < 0.5 }
                    if augmentation.rotationDegrees > 0 {
                        let angle = (2 * random!.nextUniform() - 1) * augmentation.rotationDegrees * Double.pi / 180
                        cosine = cos(angle)
                        sine = sin(angle)
                    }
                    if augmentation.cropPadding > 0 {
                        cropY = random!.nextInt(below: 2 * augmentation.cropPadding + 1) - augmentation.cropPadding
                        cropX = random!.nextInt(below: 2 * augmentation.cropPadding + 1) - augmentation.cropPadding
                    }
                    let centerY = Double(h - 1) / 2, centerX = Double(w - 1) / 2
                    for y in 0..<h {
                        for x in 0..<w {
                            // Output pixel → crop → inverse rotation → flip → stored pixel (or zero).
                            var sy = y + cropY, sx = x + cropX
                            if sine != 0 {
                                let dy = Double(sy) - centerY, dx = Double(sx) - centerX
                                sy = Int((centerY + cosine * dy - sine * dx).rounded())
                                sx = Int((centerX + sine * dy + cosine * dx).rounded())
                            }
                            if flip { sx = w - 1 - sx }
                            sy -= marginY
                            sx -= marginX
                            let inside = sy >= 0 && sy < sourceH && sx >= 0 && sx < sourceW
                            for c in 0..<inputShape.channels {
                                let sourceChannel = imageShape.channels == 1 ? 0 : c
                                let byte = inside ? Int(image[(sourceChannel * sourceH + sy) * sourceW + sx]) : 0
                                output[(c * n + sample) * plane + y * w + x] = levels[c * 256 + byte]
                            }
                        }
                    }
                }
            }
        }
    }

    /// One sample without augmentation: each output row is the padding level, then the stored row
    /// through the channel's table, then the padding level again (rows above and below: padding).
    private func copyPlain(_ image: UnsafePointer<UInt8>, sample: Int, of n: Int, levels: UnsafePointer<Float>,
                           into output: UnsafeMutablePointer<Float>) {
        let h = inputShape.height, w = inputShape.width
        let sourceH = imageShape.height, sourceW = imageShape.width
        let marginY = (h - sourceH) / 2, marginX = (w - sourceW) / 2
        for c in 0..<inputShape.channels {
            let table = levels + c * 256, padding = table[0]
            let source = image + (imageShape.channels == 1 ? 0 : c) * sourceH * sourceW
            let target = output + (c * n + sample) * h * w
            for y in 0..<h {
                let row = target + y * w, sy = y - marginY
                guard sy >= 0 && sy < sourceH else {
                    row.update(repeating: padding, count: w)
                    continue
                }
                row.update(repeating: padding, count: marginX)
                let stored = source + sy * sourceW
                for x in 0..<sourceW { row[marginX + x] = table[Int(stored[x])] }
                (row + marginX + sourceW).update(repeating: padding, count: w - marginX - sourceW)
            }
        }
    }
}

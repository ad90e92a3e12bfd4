/// One worker's memory for one model at a batch-size capacity: the input batch and labels, every
/// layer's output and cache, two gradient buffers used in turn, and scratch sized to the largest
/// layer's need. Sized once; a training step allocates nothing.
///
/// Owned by exactly one worker at a time.
public final class Workspace {
    /// The largest batch this workspace holds; smaller batches use a prefix of each buffer.
    public let capacity: Int
    let arena: Arena
    /// Start of layer i's input (i = 0: the batch) and, at index `layers.count`, the logits.
    let activationOffsets: [Int]
    let cacheOffsets: [Int]
    let gradientOffsets: (Int, Int)
    let scratchOffset: Int
    let labels: OwnedBuffer<Int32>
    let activationCounts: [Int]

    init(capacity: Int, activationCounts: [Int], cacheCounts: [Int], gradientCount: Int, scratchCount: Int) {
        self.capacity = capacity
        var offset = 0
        var activationOffsets: [Int] = []
        for count in activationCounts {
            activationOffsets.append(offset)
            offset += count
        }
        var cacheOffsets: [Int] = []
        for count in cacheCounts {
            cacheOffsets.append(offset)
            offset += count
        }
        gradientOffsets = (offset, offset + gradientCount)
        offset += 2 * gradientCount
        scratchOffset = offset
        offset += scratchCount
        self.activationOffsets = activationOffsets
        self.cacheOffsets = cacheOffsets
        self.activationCounts = activationCounts
        arena = Arena(count: offset)
        labels = OwnedBuffer(repeating: 0, count: capacity)
    }

    /// Write access to the input batch, channel-major (C, N, H, W) for up to `capacity` samples.
    public func withInput<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: arena.base + activationOffsets[0], count: activationCounts[0]))
    }

    /// Write access to the batch's class labels.
    public func withLabels<R>(_ body: (UnsafeMutableBufferPointer<Int32>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: labels.base, count: capacity))
    }

    /// Read access to the logits of the last forward pass, channel-major (classes, N).
    public func withLogits<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: arena.base + activationOffsets[activationOffsets.count - 1],
                                     count: activationCounts[activationCounts.count - 1]))
    }
}

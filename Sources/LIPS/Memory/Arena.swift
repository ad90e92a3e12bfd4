/// One contiguous, zero-initialised buffer of `Float`s laid out by a `ParameterLayout`.
///
/// A model's parameters, gradients, momentum and BatchNorm statistics are each one arena with a
/// shared layout, so FedAvg, masking, norms and checkpoints are single passes. A tensor of the
/// layout is reached through `pointer(to:)`, never by adding offsets by hand.
public typealias Arena = OwnedBuffer<Float>

extension OwnedBuffer where Element == Float {
    /// Allocates `count` floats set to zero.
    public convenience init(count: Int) {
        self.init(repeating: 0, count: count)
    }

    /// The first float of `entry`'s slice (`entry.count` floats from there), for an arena with
    /// the layout `entry` comes from.
    func pointer(to entry: ParameterEntry) -> UnsafeMutablePointer<Float> {
        precondition(entry.offset >= 0 && entry.offset + entry.count <= count,
                     "Arena: \(entry.name) at \(entry.offset)..<\(entry.offset + entry.count) outside 0..<\(count)")
        return base + entry.offset
    }
}

/// LIPS's mask of one layer (SPEC "LIPS"): keep the `floor(n·density)` entries of largest
/// |g ⊙ w| (ties to the lower index), zero the rest.
public enum LIPSMask {
    /// How many of `count` weights a density keeps: `floor(count·density)`.
    public static func keepCount(_ count: Int, density: Double) -> Int {
        precondition(density >= 0 && density <= 1, "LIPSMask: density \(density) outside [0, 1]")
        return min(count, Int((Double(count) * density).rounded(.down)))
    }

    /// Returns the 0/1 mask of `weights` and `gradients` (same length) at `density`.
    public static func mask(weights: [Float], gradients: [Float], density: Double) -> [Float] {
        precondition(weights.count == gradients.count, "LIPSMask: \(weights.count) weights, \(gradients.count) gradients")
        let n = weights.count
        var scores = [Float](repeating: 0, count: n)
        for i in 0..<n { scores[i] = abs(gradients[i] * weights[i]) }
        var work = [Float](repeating: 0, count: n)
        var mask = [Float](repeating: 0, count: n)
        scores.withUnsafeBufferPointer { s in
            work.withUnsafeMutableBufferPointer { w in
                mask.withUnsafeMutableBufferPointer { m in
                    topKMask(scores: s.baseAddress!, count: n, keep: keepCount(n, density: density),
                             work: w.baseAddress!, mask: m.baseAddress!)
                }
            }
        }
        return mask
    }
}

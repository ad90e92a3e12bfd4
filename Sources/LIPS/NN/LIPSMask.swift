/// LIPS's mask of one layer (SPEC "LIPS"): keep the `floor(n·density)` entries of largest
/// |g ⊙ w| (ties to the lower index), zero the rest.
public enum LIPSMask {
    /// How many of `count` weights a density keeps: `floor(count·density)`.
    public static func keepCount(_ count: Int, density: Double) -> Int {
        precondition(density >= 0 && density <= 1, "LIPSMask: density \(density) outside [0, 1]")
        return min(count, Int((Double(count) * density).rounded(.down)))
    }

    /// The one implementation the run uses: writes the 0/1 mask of `n` weights into `mask`.
    /// `gradients` nil scores by |w| alone (magnitude criterion). `scores` and `work` are `n`
    /// floats of scratch; `mask` may be the `gradients` buffer (it is read before being written).
    static func cut(weights: UnsafePointer<Float>, gradients: UnsafePointer<Float>?, count n: Int, density: Double,
                    scores: UnsafeMutablePointer<Float>, work: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>) {
        if let gradients {
            for i in 0..<n { scores[i] = abs(gradients[i] * weights[i]) }
        } else {
            for i in 0..<n { scores[i] = abs(weights[i]) }
        }
        topKMask(scores: scores, count: n, keep: keepCount(n, density: density), work: work, mask: mask)
    }

    /// Returns the 0/1 mask of `weights` and `gradients` (same length) at `density`.
    public static func mask(weights: [Float], gradients: [Float], density: Double) -> [Float] {
        precondition(weights.count == gradients.count, "LIPSMask: \(weights.count) weights, \(gradients.count) gradients")
        let n = weights.count
        var scores = [Float](repeating: 0, count: max(n, 1))
        var work = [Float](repeating: 0, count: max(n, 1))
        var mask = [Float](repeating: 0, count: max(n, 1))
        weights.withUnsafeBufferPointer { w in
            gradients.withUnsafeBufferPointer { g in
                scores.withUnsafeMutableBufferPointer { s in
                    work.withUnsafeMutableBufferPointer { k in
                        mask.withUnsafeMutableBufferPointer { m in
                            cut(weights: w.baseAddress!, gradients: g.baseAddress!, count: n, density: density,
                                scores: s.baseAddress!, work: k.baseAddress!, mask: m.baseAddress!)
                        }
                    }
                }
            }
        }
        return Array(mask.prefix(n))
    }
}

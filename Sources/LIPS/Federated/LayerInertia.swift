/// Layer-wise inertia of one weight tensor across one aggregation (SPEC "Evaluation and metrics").
/// All sums are in Double, in index order, so the numbers do not depend on the worker count.
enum LayerInertia {
    /// ‖new − old‖₂ / ‖old‖₂ (0 when old is all zeros).
    static func relativeUpdate(new: UnsafePointer<Float>, old: UnsafePointer<Float>, count: Int) -> Double {
        var difference = 0.0, norm = 0.0
        for i in 0..<count {
            let d = Double(new[i]) - Double(old[i])
            difference += d * d
            norm += Double(old[i]) * Double(old[i])
        }
        return norm > 0 ? (difference / norm).squareRoot() : 0
    }

    /// L1 and L2 distance and cosine similarity between `weights` and `reference`.
    static func distances(_ weights: UnsafePointer<Float>, reference: UnsafePointer<Float>, count: Int)
        -> (l1: Double, l2: Double, cosine: Double) {
        var l1 = 0.0, l2 = 0.0, dot = 0.0, normW = 0.0, normR = 0.0
        for i in 0..<count {
            let w = Double(weights[i]), r = Double(reference[i])
            l1 += abs(w - r)
            l2 += (w - r) * (w - r)
            dot += w * r
            normW += w * w
            normR += r * r
        }
        let cosine = normW > 0 && normR > 0 ? dot / (normW.squareRoot() * normR.squareRoot()) : 0
        return (l1, l2.squareRoot(), cosine)
    }

    /// Entries of `values` that are not zero.
    static func nonzeroCount(_ values: UnsafePointer<Float>, count: Int) -> Int {
        var nonzero = 0
        for i in 0..<count where values[i] != 0 { nonzero += 1 }
        return nonzero
    }
}

// Reductions over flat buffers. Sums run in Double in index order: precise and the same on every run.

/// `Σ x[i]`.
func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
    var total = 0.0
    for i in 0..<count { total += Double(x[i]) }
    return total
}

/// `Σ x[i]·y[i]`.
func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Double {
    var total = 0.0
    for i in 0..<count { total += Double(x[i]) * Double(y[i]) }
    return total
}

/// `Σ x[i]²`.
func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
    dot(x, x, count: count)
}

/// Mean and biased variance of `count` values, two passes (stable for large means).
func meanAndVariance(_ x: UnsafePointer<Float>, count: Int) -> (mean: Double, variance: Double) {
    let mean = sum(x, count: count) / Double(count)
    var squares = 0.0
    for i in 0..<count {
        let d = Double(x[i]) - mean
        squares += d * d
    }
    return (mean, squares / Double(count))
}

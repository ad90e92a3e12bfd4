// Element-wise passes over flat buffers of `count` floats. Plain loops: the optimiser vectorises them.

/// `y[i] = value`.
@inline(__always)
func fill(_ y: UnsafeMutablePointer<Float>, _ value: Float, count: Int) {
    y.update(repeating: value, count: count)
}

/// `y[i] = x[i]`.
@inline(__always)
func copy(_ x: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, count: Int) {
    y.update(from: x, count: count)
}

/// `y[i] += alpha · x[i]`.
func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { y[i] += alpha * x[i] }
}

/// `y[i] *= alpha`.
func scale(_ y: UnsafeMutablePointer<Float>, by alpha: Float, count: Int) {
    for i in 0..<count { y[i] *= alpha }
}

/// `y[i] = max(0, x[i])`; `x` and `y` may be the same buffer.
/// NaN gives 0 and −0 stays −0, as `Swift.max(0, x)`.
func reluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    let whole = vectorPrefix(count)
    for i in stride(from: 0, to: whole, by: FloatVector.scalarCount) {
        let v = loadVector(x + i)
        storeVector(FloatVector.zero.replacing(with: v, where: v .>= 0), y + i)
    }
    for i in whole..<count { y[i] = max(0, x[i]) }
}

/// `dx[i] = y[i] > 0 ? dy[i] : 0`, from the ReLU's output `y` (PyTorch's subgradient 0 at 0).
/// `dy` and `dx` may be the same buffer.
func reluBackward(output y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int) {
    let whole = vectorPrefix(count)
    for i in stride(from: 0, to: whole, by: FloatVector.scalarCount) {
        storeVector(FloatVector.zero.replacing(with: loadVector(dy + i), where: loadVector(y + i) .> 0), dx + i)
    }
    for i in whole..<count { dx[i] = y[i] > 0 ? dy[i] : 0 }
}

/// `y[i] = ReLU(x[i] + z[i])` in one pass, bitwise `add` then `reluForward`; any two may alias.
func addReLU(_ x: UnsafePointer<Float>, _ z: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    let whole = vectorPrefix(count)
    for i in stride(from: 0, to: whole, by: FloatVector.scalarCount) {
        let v = loadVector(x + i) + loadVector(z + i)
        storeVector(FloatVector.zero.replacing(with: v, where: v .>= 0), y + i)
    }
    for i in whole..<count { y[i] = max(0, x[i] + z[i]) }
}

/// `y[i] = x[i] + z[i]`; any two may alias.
func add(_ x: UnsafePointer<Float>, _ z: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    let whole = vectorPrefix(count)
    for i in stride(from: 0, to: whole, by: FloatVector.scalarCount) {
        storeVector(loadVector(x + i) + loadVector(z + i), y + i)
    }
    for i in whole..<count { y[i] = x[i] + z[i] }
}

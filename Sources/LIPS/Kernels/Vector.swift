// Explicit SIMD for the element-wise passes and reductions. LLVM only auto-vectorises a loop
// after proving its buffers do not overlap; the engine runs many passes in place (dx and dy the
// same buffer), where that proof fails and the loop falls back to scalar code. Loading a whole
// vector before storing it is correct for exact aliasing, so these loops vectorise regardless.

/// Eight floats: the width the reductions accumulate in (as eight Doubles).
typealias FloatVector = SIMD8<Float>
typealias DoubleVector = SIMD8<Double>

@inline(__always)
func loadVector(_ p: UnsafePointer<Float>) -> FloatVector {
    UnsafeRawPointer(p).loadUnaligned(as: FloatVector.self)
}

@inline(__always)
func storeVector(_ v: FloatVector, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: FloatVector.self)
}

/// `count` rounded down to whole vectors.
@inline(__always)
func vectorPrefix(_ count: Int) -> Int {
    count & ~(FloatVector.scalarCount - 1)
}

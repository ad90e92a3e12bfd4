import Testing
@testable import LIPS

/// `gemm` (OpenBLAS) against `gemmReference` (three loops in Double) over every transpose
/// combination, padded leading dimensions, β ∈ {0, 1} and α ≠ 1.
@Suite struct GEMMTests {
    /// Random values in [-1, 1) from a named stream.
    private static func random(_ count: Int, _ purpose: String) -> [Float] {
        uniformValues(count, seed: 17, purpose: purpose)
    }

    /// One product `C = α·op(A)·op(B) + β·C` with A, B, C stored with row strides `padding` wider
    /// than needed. Checks the m×n block against the reference and that the padding columns of C
    /// are left alone. With β = 0, C starts as NaN: the result must not depend on it.
    private static func check(_ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, alpha: Float, beta: Float,
                              padding: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        // Stored shapes: A is m×k (or k×m transposed), B is k×n (or n×k).
        let aRows = ta == .noTranspose ? m : k, aColumns = ta == .noTranspose ? k : m
        let bRows = tb == .noTranspose ? k : n, bColumns = tb == .noTranspose ? n : k
        let lda = max(1, aColumns) + padding, ldb = max(1, bColumns) + padding, ldc = max(1, n) + padding
        let a = random(max(1, aRows * lda), "a \(ta) \(tb) \(m) \(n) \(k)")
        let b = random(max(1, bRows * ldb), "b \(ta) \(tb) \(m) \(n) \(k)")
        var c0 = random(max(1, m * ldc), "c \(ta) \(tb) \(m) \(n) \(k)")
        if beta == 0 {
            for i in 0..<m { for j in 0..<n { c0[i * ldc + j] = .nan } }
        }
        // Padding sentinel: a value neither call may touch.
        for i in 0..<m { for j in n..<ldc { c0[i * ldc + j] = 12345 } }
        var got = c0, want = c0
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                got.withUnsafeMutableBufferPointer { c in
                    gemm(ta, tb, m: m, n: n, k: k, alpha: alpha, a: a.baseAddress!, lda: lda, b: b.baseAddress!, ldb: ldb,
                         beta: beta, c: c.baseAddress!, ldc: ldc)
                }
                want.withUnsafeMutableBufferPointer { c in
                    gemmReference(ta, tb, m: m, n: n, k: k, alpha: alpha, a: a.baseAddress!, lda: lda, b: b.baseAddress!,
                                  ldb: ldb, beta: beta, c: c.baseAddress!, ldc: ldc)
                }
            }
        }
        // Float GEMM error grows like k·ε·Σ|terms|; the values are in [-1, 1).
        let what = "gemm \(ta)/\(tb) m=\(m) n=\(n) k=\(k) α=\(alpha) β=\(beta) pad=\(padding)"
        expectClose(got, want, rtol: 1e-5, atol: 2e-6 * Double(max(k, 1)) * Double(abs(alpha)) + 1e-6, what,
                    sourceLocation: sourceLocation)
        #expect(!got.contains { $0.isNaN }, "\(what): NaN in the result", sourceLocation: sourceLocation)
        for i in 0..<m {
            for j in n..<ldc where got[i * ldc + j] != 12345 {
                Issue.record("\(what): padding of C changed at row \(i) column \(j)", sourceLocation: sourceLocation)
                return
            }
        }
    }

    static let transposes: [(Transpose, Transpose)] = [
        (.noTranspose, .noTranspose), (.noTranspose, .transpose), (.transpose, .noTranspose), (.transpose, .transpose),
    ]

    @Test(arguments: 0..<4)
    func smallOddSizesPaddedBetaZero(combination: Int) {
        let (ta, tb) = Self.transposes[combination]
        Self.check(ta, tb, m: 7, n: 11, k: 13, alpha: 1, beta: 0, padding: 3)
        Self.check(ta, tb, m: 7, n: 11, k: 13, alpha: -0.75, beta: 0, padding: 5)
    }

    @Test(arguments: 0..<4)
    func smallOddSizesPaddedBetaOne(combination: Int) {
        let (ta, tb) = Self.transposes[combination]
        Self.check(ta, tb, m: 7, n: 11, k: 13, alpha: 1, beta: 1, padding: 2)
        Self.check(ta, tb, m: 5, n: 3, k: 17, alpha: 2.5, beta: 1, padding: 4)
    }

    /// Sizes past OpenBLAS's register and cache blocks, so its packed kernels and edge paths run.
    @Test(arguments: 0..<4)
    func largerSizesAcrossBlocks(combination: Int) {
        let (ta, tb) = Self.transposes[combination]
        Self.check(ta, tb, m: 67, n: 45, k: 129, alpha: 0.5, beta: 0, padding: 7)
        Self.check(ta, tb, m: 33, n: 70, k: 41, alpha: -1.25, beta: 1, padding: 1)
    }

    /// Degenerate shapes: vectors, a single inner product, no padding.
    @Test(arguments: 0..<4)
    func vectorShapes(combination: Int) {
        let (ta, tb) = Self.transposes[combination]
        Self.check(ta, tb, m: 1, n: 9, k: 6, alpha: 1.5, beta: 1, padding: 0)
        Self.check(ta, tb, m: 9, n: 1, k: 6, alpha: 1, beta: 0, padding: 2)
        Self.check(ta, tb, m: 1, n: 1, k: 31, alpha: 3, beta: 0, padding: 0)
        Self.check(ta, tb, m: 4, n: 4, k: 1, alpha: -2, beta: 1, padding: 1)
    }

    /// β = 1 accumulates exactly what β = 0 computes: the gradient contract's `+=`.
    @Test func betaOneAddsTheBetaZeroProduct() {
        let m = 6, n = 10, k = 8
        let a = Self.random(m * k, "acc a"), b = Self.random(k * n, "acc b")
        let start = Self.random(m * n, "acc c")
        var product = [Float](repeating: .nan, count: m * n)
        var accumulated = start
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                gemm(.noTranspose, .noTranspose, m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n,
                     beta: 0, c: &product, ldc: n)
                gemm(.noTranspose, .noTranspose, m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n,
                     beta: 1, c: &accumulated, ldc: n)
            }
        }
        expectClose(accumulated, zip(start, product).map { $0 + $1 }, rtol: 1e-6, atol: 1e-6, "β=1 vs start + β=0")
    }

    /// Known values, independent of the reference: [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]].
    @Test func knownProduct() {
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
        var c = [Float](repeating: 0, count: 4)
        gemm(.noTranspose, .noTranspose, m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, beta: 0, c: &c, ldc: 2)
        #expect(c == [19, 22, 43, 50])
        // Aᵀ·B = [[1,3],[2,4]]·[[5,6],[7,8]] = [[26,30],[38,44]]; then α = 2 and β = 1 on top.
        gemm(.transpose, .noTranspose, m: 2, n: 2, k: 2, alpha: 2, a: a, lda: 2, b: b, ldb: 2, beta: 1, c: &c, ldc: 2)
        let accumulated: [Float] = [19 + 52, 22 + 60, 43 + 76, 50 + 88]
        #expect(c == accumulated)
        var r = [Float](repeating: 0, count: 4)
        gemmReference(.noTranspose, .transpose, m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, beta: 0, c: &r, ldc: 2)
        // A·Bᵀ = [[1,2],[3,4]]·[[5,7],[6,8]] = [[17,23],[39,53]].
        #expect(r == [17, 23, 39, 53])
    }
}

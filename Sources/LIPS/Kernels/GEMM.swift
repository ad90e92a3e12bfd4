import CBLAS

/// Whether a GEMM operand is used as stored or transposed.
public enum Transpose: Sendable {
    case noTranspose
    case transpose
}

/// The one single-precision matrix product of the engine (row-major):
/// `C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C`.
///
/// Every FLOP-heavy call goes through here, so this is the place to check shapes and to count work.
/// `lda`, `ldb`, `ldc` are the row strides of the matrices as stored.
@inline(__always)
func gemm(
    _ transposeA: Transpose, _ transposeB: Transpose,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative size m=\(m) n=\(n) k=\(k)")
    precondition(lda >= max(1, transposeA == .noTranspose ? k : m), "gemm: lda \(lda) too small (m=\(m) k=\(k))")
    precondition(ldb >= max(1, transposeB == .noTranspose ? n : k), "gemm: ldb \(ldb) too small (k=\(k) n=\(n))")
    precondition(ldc >= max(1, n), "gemm: ldc \(ldc) < n \(n)")
    if m == 0 || n == 0 { return }
    _ = singleThreadedBLAS
    cblas_sgemm(
        CblasRowMajor,
        transposeA == .noTranspose ? CblasNoTrans : CblasTrans,
        transposeB == .noTranspose ? CblasNoTrans : CblasTrans,
        Int32(m), Int32(n), Int32(k),
        alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// The same contract as `gemm`, computed with three plain loops in Double.
/// Tests compare `gemm` against it; it is far too slow for training.
func gemmReference(
    _ transposeA: Transpose, _ transposeB: Transpose,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let aip = transposeA == .noTranspose ? a[i * lda + p] : a[p * lda + i]
                let bpj = transposeB == .noTranspose ? b[p * ldb + j] : b[j * ldb + p]
                sum += Double(aip) * Double(bpj)
            }
            let previous = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
            c[i * ldc + j] = Float(Double(alpha) * sum + previous)
        }
    }
}

/// OpenBLAS runs single-threaded, process-wide, from the first product on: the cores are used by
/// the workers, one client each. Its multithreaded GEMM blocks a product differently, and on some
/// processors the bits then differ, so results would depend on the worker count (and on which
/// other code had last set the thread count).
private let singleThreadedBLAS: Void = openblas_set_num_threads(1)

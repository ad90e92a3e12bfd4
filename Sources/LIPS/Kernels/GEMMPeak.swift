import Dispatch

/// The SGEMM rate this machine reaches on a model's own shapes, measured in-process so that
/// `lips bench round` can quote training speed as a fraction of it ("the figure users quote").
public enum GEMMPeak {
    /// ResNet-8's forward convolutions at batch 100 as im2col GEMMs, M×N×K = Cout × N·Ho·Wo × Cin·k·k.
    public static let resnet8Shapes: [(m: Int, n: Int, k: Int)] = [
        (64, 25_600, 147), (64, 6_400, 576), (128, 1_600, 576), (128, 1_600, 1_152),
        (256, 400, 1_152), (256, 400, 2_304),
    ]

    /// One row-major SGEMM `c = a · b` of `shape` (for benchmarks; `a` m×k, `b` k×n, `c` m×n).
    public static func multiply(_ shape: (m: Int, n: Int, k: Int), a: [Float], b: [Float], c: inout [Float]) {
        precondition(a.count >= shape.m * shape.k && b.count >= shape.k * shape.n && c.count >= shape.m * shape.n,
                     "GEMMPeak.multiply: arrays smaller than \(shape)")
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    gemm(.noTranspose, .noTranspose, m: shape.m, n: shape.n, k: shape.k, a: a.baseAddress!, lda: shape.k,
                         b: b.baseAddress!, ldb: shape.n, beta: 0, c: c.baseAddress!, ldc: shape.n)
                }
            }
        }
    }

    /// GFLOP/s of `workers` threads each running single-threaded SGEMMs over `shapes` for about
    /// `seconds` (the arrangement the scheduler uses).
    public static func measure(workers: Int, seconds: Double = 1, shapes: [(m: Int, n: Int, k: Int)] = resnet8Shapes) -> Double {
        let largest = shapes.reduce(0) { max($0, $1.m * $1.k, $1.k * $1.n, $1.m * $1.n) }
        let flops = LockedCounter()
        let start = DispatchTime.now()
        DispatchQueue.concurrentPerform(iterations: max(1, workers)) { _ in
            let a = [Float](repeating: 0.5, count: largest), b = [Float](repeating: 0.25, count: largest)
            var c = [Float](repeating: 0, count: largest)
            var done = 0
            while Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 < seconds {
                for shape in shapes {
                    multiply(shape, a: a, b: b, c: &c)
                    done += 2 * shape.m * shape.n * shape.k
                }
            }
            flops.add(done)
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return Double(flops.value) / elapsed / 1e9
    }
}

// input (C, N, H, W) channel-major; col (C·K·K, N·Ho·Wo), row (c·K + ky)·K + kx, column (n·Ho + oy)·Wo + ox.

/// Output side of a convolution or pooling window: `floor((size + 2·padding − kernel) / stride) + 1`.
@inline(__always)
func convolutionOutputSize(_ size: Int, kernel: Int, stride: Int, padding: Int) -> Int {
    (size + 2 * padding - kernel) / stride + 1
}

/// Unfolds every K×K window of the input into a column, zero where the window hangs over the padding.
func im2col(
    _ input: UnsafePointer<Float>, channels c: Int, batch n: Int, height h: Int, width w: Int,
    kernel k: Int, stride s: Int, padding p: Int,
    into col: UnsafeMutablePointer<Float>
) {
    let ho = convolutionOutputSize(h, kernel: k, stride: s, padding: p)
    let wo = convolutionOutputSize(w, kernel: k, stride: s, padding: p)
    let columns = n * ho * wo
    for channel in 0..<c {
        for ky in 0..<k {
            for kx in 0..<k {
                let row = col + ((channel * k + ky) * k + kx) * columns
                for sample in 0..<n {
                    let plane = input + (channel * n + sample) * h * w
                    for oy in 0..<ho {
                        let out = row + (sample * ho + oy) * wo
                        let iy = oy * s - p + ky
                        if iy < 0 || iy >= h {
                            out.update(repeating: 0, count: wo)
                            continue
                        }
                        let line = plane + iy * w
                        if s == 1 {
                            // Contiguous copy with zero margins: the common stride-1 case.
                            let shift = kx - p
                            let first = min(wo, max(0, -shift))
                            let last = max(first, min(wo, w - shift))
                            out.update(repeating: 0, count: first)
                            out.advanced(by: first).update(from: line + first + shift, count: last - first)
                            out.advanced(by: last).update(repeating: 0, count: wo - last)
                        } else {
                            // Strided gather: zero margins, then a branch-free interior where
                            // 0 ≤ ox·s − p + kx < w.
                            let shift = kx - p
                            let first = min(wo, max(0, (-shift + s - 1) / s))
                            let last = max(first, min(wo, (w - shift + s - 1) / s))
                            out.update(repeating: 0, count: first)
                            var source = line + first * s + shift
                            for ox in first..<last {
                                out[ox] = source.pointee
                                source += s
                            }
                            out.advanced(by: last).update(repeating: 0, count: wo - last)
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of `im2col`: adds every column entry back onto the input position it came from.
/// Accumulates into `input`; the caller zeroes it first when it wants an overwrite.
func col2imAdd(
    _ col: UnsafePointer<Float>, channels c: Int, batch n: Int, height h: Int, width w: Int,
    kernel k: Int, stride s: Int, padding p: Int,
    into input: UnsafeMutablePointer<Float>
) {
    let ho = convolutionOutputSize(h, kernel: k, stride: s, padding: p)
    let wo = convolutionOutputSize(w, kernel: k, stride: s, padding: p)
    let columns = n * ho * wo
    for channel in 0..<c {
        for ky in 0..<k {
            for kx in 0..<k {
                let row = col + ((channel * k + ky) * k + kx) * columns
                for sample in 0..<n {
                    let plane = input + (channel * n + sample) * h * w
                    for oy in 0..<ho {
                        let iy = oy * s - p + ky
                        if iy < 0 || iy >= h { continue }
                        let source = row + (sample * ho + oy) * wo
                        let line = plane + iy * w
                        if s == 1 {
                            let shift = kx - p
                            let first = max(0, -shift), last = min(wo, w - shift)
                            if last > first {
                                for ox in first..<last { line[ox + shift] += source[ox] }
                            }
                        } else {
                            let shift = kx - p
                            let first = min(wo, max(0, (-shift + s - 1) / s))
                            let last = max(first, min(wo, (w - shift + s - 1) / s))
                            var target = line + first * s + shift
                            for ox in first..<last {
                                target.pointee += source[ox]
                                target += s
                            }
                        }
                    }
                }
            }
        }
    }
}

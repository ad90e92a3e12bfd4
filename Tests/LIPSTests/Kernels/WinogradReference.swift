@testable import LIPS

// The Winograd transforms as they were before they went four tiles at a time (scalar, one tile after
// the other through a zero-bordered plane): the bitwise reference of WinogradBitwiseTests. The engine
// promises the same bits run after run, so the vectorised transforms must reproduce these exactly,
// signed zeros included.

/// U[ξ][co][ci] = (G g Gᵀ)[i][j] for the 3×3 filter g = weight[co, ci]; weight is (Cout, Cin, 3, 3).
func referenceWinogradFilterTransform(_ weight: UnsafePointer<Float>, _ g: WinogradGeometry, into u: UnsafeMutablePointer<Float>) {
    let count = g.outputChannels * g.inputChannels, stride = g.filterStride
    for f in 0..<count {
        let k = weight + f * 9
        // G g: rows of the filter combined (4 × 3).
        let t3 = 0.5 * (k[0] + k[3] + k[6]), t4 = 0.5 * (k[1] + k[4] + k[7]), t5 = 0.5 * (k[2] + k[5] + k[8])
        let t6 = 0.5 * (k[0] - k[3] + k[6]), t7 = 0.5 * (k[1] - k[4] + k[7]), t8 = 0.5 * (k[2] - k[5] + k[8])
        // (G g) Gᵀ: columns combined, row by row.
        let out = u + f
        @inline(__always) func row(_ i: Int, _ a: Float, _ b: Float, _ c: Float) {
            out[(4 * i) * stride] = a
            out[(4 * i + 1) * stride] = 0.5 * (a + b + c)
            out[(4 * i + 2) * stride] = 0.5 * (a - b + c)
            out[(4 * i + 3) * stride] = c
        }
        row(0, k[0], k[1], k[2])
        row(1, t3, t4, t5)
        row(2, t6, t7, t8)
        row(3, k[6], k[7], k[8])
    }
}

/// dWeight[co, ci] += Gᵀ dU[co][ci] G: the adjoint of `winogradFilterTransform`, accumulating.
func referenceWinogradFilterGradientAdd(_ du: UnsafePointer<Float>, _ g: WinogradGeometry, into dWeight: UnsafeMutablePointer<Float>) {
    let count = g.outputChannels * g.inputChannels, stride = g.filterStride
    for f in 0..<count {
        let x = du + f
        // Gᵀ X (3 × 4): rows of the 4 × 4 combined, one column j at a time.
        var r0 = (Float(0), Float(0), Float(0), Float(0))
        var r1 = r0, r2 = r0
        @inline(__always) func column(_ j: Int) -> (Float, Float, Float) {
            let x0 = x[j * stride], x1 = x[(4 + j) * stride], x2 = x[(8 + j) * stride], x3 = x[(12 + j) * stride]
            return (x0 + 0.5 * (x1 + x2), 0.5 * (x1 - x2), 0.5 * (x1 + x2) + x3)
        }
        (r0.0, r1.0, r2.0) = column(0)
        (r0.1, r1.1, r2.1) = column(1)
        (r0.2, r1.2, r2.2) = column(2)
        (r0.3, r1.3, r2.3) = column(3)
        // (Gᵀ X) G: columns combined.
        let dg = dWeight + f * 9
        @inline(__always) func row(_ i: Int, _ y: (Float, Float, Float, Float)) {
            dg[3 * i] += y.0 + 0.5 * (y.1 + y.2)
            dg[3 * i + 1] += 0.5 * (y.1 - y.2)
            dg[3 * i + 2] += 0.5 * (y.1 + y.2) + y.3
        }
        row(0, r0)
        row(1, r1)
        row(2, r2)
    }
}

/// V[ξ][c][p] = (Bᵀ d B)[i][j] for every tile p of `samples` and every channel c, d the 4×4 input window
/// with zeros outside the image. `plane` is (2·Th + 2)·(2·Tw + 2) floats of temporary space.
func referenceWinogradInputTransform(_ input: UnsafePointer<Float>, _ g: WinogradGeometry, samples: Range<Int>,
                            plane: UnsafeMutablePointer<Float>, into v: UnsafeMutablePointer<Float>) {
    let h = g.height, w = g.width, th = g.tilesHigh, tw = g.tilesWide, pw = (2 * g.tilesWide + 2)
    let stride = g.inputStride, columns = samples.count * th * tw
    // The border (row 0, col 0, and beyond H, W) stays zero; each plane rewrites only the interior.
    fill(plane, 0, count: (2 * g.tilesHigh + 2) * pw)
    for channel in 0..<g.inputChannels {
        for sample in samples {
            let source = input + (channel * g.batch + sample) * h * w
            for y in 0..<h { copy(source + y * w, to: plane + (y + 1) * pw + 1, count: w) }
            var out = v + channel * columns + (sample - samples.lowerBound) * th * tw
            for ty in 0..<th {
                let r0 = plane + 2 * ty * pw, r1 = r0 + pw, r2 = r1 + pw, r3 = r2 + pw
                for tx in 0..<tw {
                    let c = 2 * tx
                    // Bᵀ d: rows combined, per window column.
                    let a0 = r0[c] - r2[c], a1 = r0[c + 1] - r2[c + 1], a2 = r0[c + 2] - r2[c + 2], a3 = r0[c + 3] - r2[c + 3]
                    let b0 = r1[c] + r2[c], b1 = r1[c + 1] + r2[c + 1], b2 = r1[c + 2] + r2[c + 2], b3 = r1[c + 3] + r2[c + 3]
                    let e0 = r2[c] - r1[c], e1 = r2[c + 1] - r1[c + 1], e2 = r2[c + 2] - r1[c + 2], e3 = r2[c + 3] - r1[c + 3]
                    let f0 = r1[c] - r3[c], f1 = r1[c + 1] - r3[c + 1], f2 = r1[c + 2] - r3[c + 2], f3 = r1[c + 3] - r3[c + 3]
                    // (Bᵀ d) B: columns combined.
                    out[0] = a0 - a2; out[stride] = a1 + a2; out[2 * stride] = a2 - a1; out[3 * stride] = a1 - a3
                    out[4 * stride] = b0 - b2; out[5 * stride] = b1 + b2; out[6 * stride] = b2 - b1; out[7 * stride] = b1 - b3
                    out[8 * stride] = e0 - e2; out[9 * stride] = e1 + e2; out[10 * stride] = e2 - e1; out[11 * stride] = e1 - e3
                    out[12 * stride] = f0 - f2; out[13 * stride] = f1 + f2; out[14 * stride] = f2 - f1; out[15 * stride] = f1 - f3
                    out += 1
                }
            }
        }
    }
}

/// output[co, n] = Aᵀ M[·][co][p] A per tile for n in `samples`, clipped to H × W, plus `bias[co]` when
/// given. `plane` as there (2·Th × 2·Tw are used).
func referenceWinogradOutputTransform(_ m: UnsafePointer<Float>, _ g: WinogradGeometry, samples: Range<Int>, bias: UnsafePointer<Float>?,
                             plane: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>) {
    let h = g.height, w = g.width, th = g.tilesHigh, tw = g.tilesWide, ow = 2 * tw
    let stride = g.productStride, columns = samples.count * th * tw
    for channel in 0..<g.outputChannels {
        let b = bias?[channel] ?? 0
        for sample in samples {
            var x = m + channel * columns + (sample - samples.lowerBound) * th * tw
            for ty in 0..<th {
                let y0 = plane + 2 * ty * ow, y1 = y0 + ow
                for tx in 0..<tw {
                    // Aᵀ M: rows combined, per column j.
                    let m0 = x[0], m1 = x[stride], m2 = x[2 * stride], m3 = x[3 * stride]
                    let m4 = x[4 * stride], m5 = x[5 * stride], m6 = x[6 * stride], m7 = x[7 * stride]
                    let m8 = x[8 * stride], m9 = x[9 * stride], m10 = x[10 * stride], m11 = x[11 * stride]
                    let m12 = x[12 * stride], m13 = x[13 * stride], m14 = x[14 * stride], m15 = x[15 * stride]
                    let s0 = m0 + m4 + m8, s1 = m1 + m5 + m9, s2 = m2 + m6 + m10, s3 = m3 + m7 + m11
                    let d0 = m4 - m8 - m12, d1 = m5 - m9 - m13, d2 = m6 - m10 - m14, d3 = m7 - m11 - m15
                    // (Aᵀ M) A: columns combined.
                    let c = 2 * tx
                    y0[c] = s0 + s1 + s2; y0[c + 1] = s1 - s2 - s3
                    y1[c] = d0 + d1 + d2; y1[c + 1] = d1 - d2 - d3
                    x += 1
                }
            }
            let target = output + (channel * g.batch + sample) * h * w
            for y in 0..<h {
                let row = plane + y * ow, out = target + y * w
                for i in 0..<w { out[i] = row[i] + b }
            }
        }
    }
}

/// Mg[ξ][co][p] = (A dY Aᵀ)[i][j] for the 2×2 output-gradient tile of every tile p of `samples`, zero where
/// the tile hangs past H or W. The adjoint of `winogradOutputTransform`. `plane` as there.
func referenceWinogradOutputGradientTransform(_ dOutput: UnsafePointer<Float>, _ g: WinogradGeometry, samples: Range<Int>,
                                     plane: UnsafeMutablePointer<Float>, into mg: UnsafeMutablePointer<Float>) {
    let h = g.height, w = g.width, th = g.tilesHigh, tw = g.tilesWide, ow = 2 * tw
    let stride = g.productStride, columns = samples.count * th * tw
    // Row H and column W (odd sizes) stay zero; each plane rewrites only the H × W interior.
    fill(plane, 0, count: 2 * th * ow)
    for channel in 0..<g.outputChannels {
        for sample in samples {
            let source = dOutput + (channel * g.batch + sample) * h * w
            for y in 0..<h { copy(source + y * w, to: plane + y * ow, count: w) }
            var out = mg + channel * columns + (sample - samples.lowerBound) * th * tw
            for ty in 0..<th {
                let y0 = plane + 2 * ty * ow, y1 = y0 + ow
                for tx in 0..<tw {
                    let c = 2 * tx
                    // A dY: rows (y0, y0 + y1, y0 − y1, −y1), then · Aᵀ: columns the same way.
                    let p0 = y0[c], p1 = y0[c + 1], q0 = y1[c], q1 = y1[c + 1]
                    let s0 = p0 + q0, s1 = p1 + q1, d0 = p0 - q0, d1 = p1 - q1
                    out[0] = p0; out[stride] = p0 + p1; out[2 * stride] = p0 - p1; out[3 * stride] = -p1
                    out[4 * stride] = s0; out[5 * stride] = s0 + s1; out[6 * stride] = s0 - s1; out[7 * stride] = -s1
                    out[8 * stride] = d0; out[9 * stride] = d0 + d1; out[10 * stride] = d0 - d1; out[11 * stride] = -d1
                    out[12 * stride] = -q0; out[13 * stride] = -(q0 + q1); out[14 * stride] = q1 - q0; out[15 * stride] = q1
                    out += 1
                }
            }
        }
    }
}

/// dInput[c, n] = Σ over tiles of B dV[·][c][p] Bᵀ for n in `samples`, each 4×4 added at its window,
/// padding positions dropped. The adjoint of `winogradInputTransform`; **overwrites** those samples of
/// `dInput`. `plane` as there.
func referenceWinogradInputGradientTransform(_ dv: UnsafePointer<Float>, _ g: WinogradGeometry, samples: Range<Int>,
                                    plane: UnsafeMutablePointer<Float>, into dInput: UnsafeMutablePointer<Float>) {
    let h = g.height, w = g.width, th = g.tilesHigh, tw = g.tilesWide, pw = (2 * g.tilesWide + 2)
    let stride = g.inputStride, columns = samples.count * th * tw
    for channel in 0..<g.inputChannels {
        for sample in samples {
            fill(plane, 0, count: (2 * g.tilesHigh + 2) * pw)
            var x = dv + channel * columns + (sample - samples.lowerBound) * th * tw
            for ty in 0..<th {
                let r0 = plane + 2 * ty * pw, r1 = r0 + pw, r2 = r1 + pw, r3 = r2 + pw
                for tx in 0..<tw {
                    // B X: rows (x0, x1 − x2 + x3, −x0 + x1 + x2, −x3), per column j.
                    let x0 = x[0], x1 = x[stride], x2 = x[2 * stride], x3 = x[3 * stride]
                    let x4 = x[4 * stride], x5 = x[5 * stride], x6 = x[6 * stride], x7 = x[7 * stride]
                    let x8 = x[8 * stride], x9 = x[9 * stride], x10 = x[10 * stride], x11 = x[11 * stride]
                    let x12 = x[12 * stride], x13 = x[13 * stride], x14 = x[14 * stride], x15 = x[15 * stride]
                    let b0 = x4 - x8 + x12, b1 = x5 - x9 + x13, b2 = x6 - x10 + x14, b3 = x7 - x11 + x15
                    let e0 = x4 + x8 - x0, e1 = x5 + x9 - x1, e2 = x6 + x10 - x2, e3 = x7 + x11 - x3
                    // (B X) Bᵀ: columns the same way, added onto the window rows.
                    let c = 2 * tx
                    r0[c] += x0; r0[c + 1] += x1 - x2 + x3; r0[c + 2] += x1 + x2 - x0; r0[c + 3] -= x3
                    r1[c] += b0; r1[c + 1] += b1 - b2 + b3; r1[c + 2] += b1 + b2 - b0; r1[c + 3] -= b3
                    r2[c] += e0; r2[c + 1] += e1 - e2 + e3; r2[c + 2] += e1 + e2 - e0; r2[c + 3] -= e3
                    r3[c] -= x12; r3[c + 1] -= x13 - x14 + x15; r3[c + 2] -= x13 + x14 - x12; r3[c + 3] += x15
                    x += 1
                }
            }
            let target = dInput + (channel * g.batch + sample) * h * w
            for y in 0..<h { copy(plane + (y + 1) * pw + 1, to: target + y * w, count: w) }
        }
    }
}

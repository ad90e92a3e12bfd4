// input (C, N, H, W) channel-major; col (C·K·K, N·Ho·Wo), row (c·K + ky)·K + kx, column (n·Ho + oy)·Wo + ox.

/// Output side of a convolution or pooling window: `floor((size + 2·padding − kernel) / stride) + 1`.
@inline(__always)
func convolutionOutputSize(_ size: Int, kernel: Int, stride: Int, padding: Int) -> Int {
    (size + 2 * padding - kernel) / stride + 1
}

/// Floats of `plane` scratch that `im2col` needs: the zero-bordered input plane of
/// one (channel, sample), split by column into `stride` phase planes (see `PhasePlanes`).
func im2colPlaneCount(height h: Int, width w: Int, kernel k: Int, stride s: Int, padding p: Int) -> Int {
    let planes = PhasePlanes(height: h, width: w, kernel: k, stride: s, padding: p)
    return max(planes.count, WindowTable(planes).scratchCount)
}

/// The zero-bordered (H + 2p) × (W + 2p) plane of one input channel of one sample, stored as `s`
/// planes by column phase: phase φ row y holds padded columns φ, φ + s, φ + 2s, … . Window column
/// ox·s + kx is then phase kx % s, index ox + kx / s, so every (ky, kx, oy) row of the col matrix is
/// one contiguous run of Wo floats: no per-element branch or stride, and no zero margins to write
/// (on the small maps of the stride-2 convs a margin is a separate fill every few floats, which
/// costs more than the copy itself). `col2imAdd` keeps direct adds: going through the planes
/// would add a pass back from them and cost more instructions than it saves.
struct PhasePlanes {
    let height, width, kernel, stride, padding, outputHeight, outputWidth: Int
    /// Rows (H + 2p) and columns per phase: what the windows read, (K − 1) / s + Wo, or what the
    /// padded row holds, ceil((W + 2p) / s), whichever is more (they differ when s does not divide).
    let rows, phaseWidth: Int

    init(height: Int, width: Int, kernel: Int, stride: Int, padding: Int) {
        self.height = height
        self.width = width
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        outputHeight = convolutionOutputSize(height, kernel: kernel, stride: stride, padding: padding)
        outputWidth = convolutionOutputSize(width, kernel: kernel, stride: stride, padding: padding)
        rows = height + 2 * padding
        phaseWidth = max((kernel - 1) / stride + outputWidth, (width + 2 * padding + stride - 1) / stride)
    }

    var count: Int { stride * rows * phaseWidth }

    /// Zeroes `planes`, then copies one input plane (H × W) into its interior.
    func load(_ source: UnsafePointer<Float>, into planes: UnsafeMutablePointer<Float>) {
        planes.update(repeating: 0, count: count)
        for phase in 0..<stride {
            let (first, columns) = interiorRun(phase: phase)
            let sourceColumn = phase &+ first &* stride &- padding
            for y in 0..<height {
                var from = source + (y &* width &+ sourceColumn)
                let target = planes + ((phase &* rows &+ y &+ padding) &* phaseWidth &+ first)
                for j in 0..<columns {
                    target[j] = from.pointee
                    from += stride
                }
            }
        }
    }

    /// The phase-plane columns j that hold input pixels (p ≤ φ + j·s < p + W): the first, and how many.
    private func interiorRun(phase: Int) -> (first: Int, count: Int) {
        let first = phase >= padding ? 0 : (padding - phase + stride - 1) / stride
        let end = (padding + width - phase + stride - 1) / stride   // first j past the interior
        return (first, max(0, end - first))
    }
}

/// Unfolds every K×K window of the input into a column, zero where the window hangs over the padding.
/// Only the windows of `samples` (default: the whole batch of `n`), which then make up the columns:
/// col is (C·K·K, samples.count·Ho·Wo). `plane` holds `im2colPlaneCount(…)` floats of scratch.
func im2col(
    _ input: UnsafePointer<Float>, channels c: Int, batch n: Int, height h: Int, width w: Int,
    kernel k: Int, stride s: Int, padding p: Int, samples: Range<Int>? = nil,
    plane: UnsafeMutablePointer<Float>, into col: UnsafeMutablePointer<Float>
) {
    let planes = PhasePlanes(height: h, width: w, kernel: k, stride: s, padding: p)
    let ho = planes.outputHeight, wo = planes.outputWidth
    let samples = samples ?? 0..<n
    precondition(samples.lowerBound >= 0 && samples.upperBound <= n, "im2col: samples \(samples) outside the batch of \(n)")
    if WindowTable.pays(planes) {
        WindowTable(planes).im2col(input, channels: c, batch: n, samples: samples, scratch: plane, into: col)
        return
    }
    let columns = samples.count &* ho &* wo, rowStep = s &* planes.phaseWidth
    for channel in 0..<c {
        for sample in samples {
            planes.load(input + (channel &* n &+ sample) &* (h &* w), into: plane)
            for ky in 0..<k {
                // Window (ky, kx) of output row 0 starts at row ky of phase kx % s, index kx / s (both
                // stepped, not divided); output row oy is oy·s phase-plane rows further on.
                var phase = 0, shift = 0
                for kx in 0..<k {
                    let rowIndex = (channel &* k &+ ky) &* k &+ kx
                    var out = col + (rowIndex &* columns &+ (sample &- samples.lowerBound) &* (ho &* wo))
                    var source = UnsafePointer(plane + ((phase &* planes.rows &+ ky) &* planes.phaseWidth &+ shift))
                    for _ in 0..<ho {
                        copyRun(source, to: out, count: wo)
                        source += rowStep
                        out += wo
                    }
                    phase &+= 1
                    if phase == s { phase = 0; shift &+= 1 }
                }
            }
        }
    }
}

/// `count` floats from `source` to `target` (short runs, not overlapping): whole vectors, then a
/// 4- and a 2-float step, then a single. A memcpy call per run of 2 to 16 floats cost more than
/// the copy, and a scalar loop over the 4- and 2-float runs of the downsampling convs did too.
@inline(__always)
private func copyRun(_ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i &+ FloatVector.scalarCount <= count {
        storeVector(loadVector(source + i), target + i)
        i &+= FloatVector.scalarCount
    }
    if i &+ 4 <= count {
        UnsafeMutableRawPointer(target + i).storeBytes(of: UnsafeRawPointer(source + i).loadUnaligned(as: SIMD4<Float>.self),
                                                       as: SIMD4<Float>.self)
        i &+= 4
    }
    if i &+ 2 <= count {
        UnsafeMutableRawPointer(target + i).storeBytes(of: UnsafeRawPointer(source + i).loadUnaligned(as: SIMD2<Float>.self),
                                                       as: SIMD2<Float>.self)
        i &+= 2
    }
    if i < count { target[i] = source[i] }
}

/// The adjoint of `im2col`: adds every column entry back onto the input position it came from.
/// Accumulates into `input`; the caller zeroes it first when it wants an overwrite. `samples` as
/// for `im2col`: col holds only their columns. `plane` holds `im2colPlaneCount(…)` floats of scratch.
/// Each input entry receives its terms in window-position order, (ky, kx) ascending, on either path.
func col2imAdd(
    _ col: UnsafePointer<Float>, channels c: Int, batch n: Int, height h: Int, width w: Int,
    kernel k: Int, stride s: Int, padding p: Int, samples: Range<Int>? = nil,
    plane: UnsafeMutablePointer<Float>, into input: UnsafeMutablePointer<Float>
) {
    let ho = convolutionOutputSize(h, kernel: k, stride: s, padding: p)
    let wo = convolutionOutputSize(w, kernel: k, stride: s, padding: p)
    let samples = samples ?? 0..<n
    precondition(samples.lowerBound >= 0 && samples.upperBound <= n, "col2imAdd: samples \(samples) outside the batch of \(n)")
    let planes = PhasePlanes(height: h, width: w, kernel: k, stride: s, padding: p)
    if WindowTable.pays(planes) {
        WindowTable(planes).col2imAdd(col, channels: c, batch: n, samples: samples, scratch: plane, into: input)
        return
    }
    let columns = samples.count * ho * wo
    for channel in 0..<c {
        for ky in 0..<k {
            for kx in 0..<k {
                let row = col + ((channel * k + ky) * k + kx) * columns
                for sample in samples {
                    let plane = input + (channel * n + sample) * h * w
                    for oy in 0..<ho {
                        let iy = oy * s - p + ky
                        if iy < 0 || iy >= h { continue }
                        let source = row + ((sample - samples.lowerBound) * ho + oy) * wo
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

/// Where every window position of every output pixel reads in one input plane, for outputs narrower
/// than a vector (the stride-2 convs and projection shortcuts on 8×8 and smaller maps): there the
/// runs `im2col` copies are 1 to 4 floats long and a run's loop costs more than its copy, so each col
/// entry is looked up instead. The table (K²·Ho·Wo Int32, one float of scratch each) is written into
/// the scratch before a copy of the plane, whose entry H·W is the zero that padding reads.
struct WindowTable {
    let planes: PhasePlanes
    var planeSize: Int { planes.height * planes.width }
    var windows: Int { planes.outputHeight * planes.outputWidth }
    var kernelArea: Int { planes.kernel * planes.kernel }

    init(_ planes: PhasePlanes) { self.planes = planes }

    static func pays(_ planes: PhasePlanes) -> Bool { planes.outputWidth < FloatVector.scalarCount }

    var scratchCount: Int { kernelArea * windows + planeSize + 1 }

    /// Entry r·Ho·Wo + oy·Wo + ox, r = ky·K + kx: the plane index iy·W + ix that window position r of
    /// output (oy, ox) reads, or H·W where it falls on the padding.
    private func write(into table: UnsafeMutableRawPointer) {
        let g = planes
        for ky in 0..<g.kernel {
            for kx in 0..<g.kernel {
                for oy in 0..<g.outputHeight {
                    for ox in 0..<g.outputWidth {
                        let iy = oy * g.stride - g.padding + ky, ix = ox * g.stride - g.padding + kx
                        let inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width
                        let entry = ((ky * g.kernel + kx) * g.outputHeight + oy) * g.outputWidth + ox
                        table.storeBytes(of: Int32(inside ? iy * g.width + ix : planeSize), toByteOffset: 4 * entry, as: Int32.self)
                    }
                }
            }
        }
    }

    @inline(__always)
    private func entry(_ table: UnsafeRawPointer, _ index: Int) -> Int {
        Int(table.load(fromByteOffset: 4 &* index, as: Int32.self))
    }

    func im2col(_ input: UnsafePointer<Float>, channels c: Int, batch n: Int, samples: Range<Int>,
                scratch: UnsafeMutablePointer<Float>, into col: UnsafeMutablePointer<Float>) {
        let table = UnsafeMutableRawPointer(scratch), copy = scratch + kernelArea * windows
        write(into: table)
        copy[planeSize] = 0
        let columns = samples.count &* windows, windows = windows, area = kernelArea, size = planeSize
        for channel in 0..<c {
            for sample in samples {
                let source = input + (channel &* n &+ sample) &* size
                // Unpadded, every window lies inside the plane: read it where it is.
                let reads: UnsafePointer<Float>
                if planes.padding == 0 { reads = source } else { copy.update(from: source, count: size); reads = UnsafePointer(copy) }
                var out = col + (channel &* area &* columns &+ (sample &- samples.lowerBound) &* windows)
                var position = 0
                for _ in 0..<area {
                    for j in 0..<windows { out[j] = reads[entry(table, position &+ j)] }
                    position &+= windows
                    out += columns
                }
            }
        }
    }

    func col2imAdd(_ col: UnsafePointer<Float>, channels c: Int, batch n: Int, samples: Range<Int>,
                   scratch: UnsafeMutablePointer<Float>, into input: UnsafeMutablePointer<Float>) {
        let table = UnsafeMutableRawPointer(scratch), copy = scratch + kernelArea * windows
        write(into: table)
        let columns = samples.count &* windows, windows = windows, area = kernelArea, size = planeSize
        for channel in 0..<c {
            for sample in samples {
                let target = input + (channel &* n &+ sample) &* size
                // Padded: add into a copy whose extra entry takes the padding's terms, then copy back.
                let sums: UnsafeMutablePointer<Float>
                if planes.padding == 0 { sums = target } else { copy.update(from: target, count: size); sums = copy }
                var from = col + (channel &* area &* columns &+ (sample &- samples.lowerBound) &* windows)
                var position = 0
                for _ in 0..<area {
                    for j in 0..<windows { sums[entry(table, position &+ j)] += from[j] }
                    position &+= windows
                    from += columns
                }
                if planes.padding != 0 { target.update(from: copy, count: size) }
            }
        }
    }
}

// Winograd F(2×2, 3×3) transforms (Lavin & Gray 2016) for a 3×3, stride-1, padding-1 convolution.
// Tiles: T = ceil(H/2)·ceil(W/2) per sample; tile t = ty·Tw + tx covers output rows 2ty…2ty+1, cols
// 2tx…2tx+1 and reads the input window rows 2ty−1…2ty+2, cols 2tx−1…2tx+2 (zero outside the image).
// The batch goes in chunks of samples; for a chunk of S samples, P = S·T and column p = (n − first)·T + t.
// Transform position ξ = 4·i + j (0..<16). Stored as 16 row-major matrices, ξ-major:
// U[ξ] (Cout × Cin) filter, V[ξ] (Cin × P) input, M[ξ] (Cout × P) products; activations (C, N, H, W).
// Matrix ξ starts at ξ·stride, the stride a little past a multiple of 4 KiB (`winogradMatrixStride`), so
// the 16 streams a transform reads or writes fall in distinct cache sets (a stride that is an exact
// multiple of 4 KiB, which some batch sizes give, maps all 16 to one set and the L1 thrashes).
//
// Bᵀ = [[1,0,−1,0],[0,1,1,0],[0,−1,1,0],[0,1,0,−1]], G = [[1,0,0],[½,½,½],[½,−½,½],[0,0,1]],
// Aᵀ = [[1,1,1,0],[0,1,−1,−1]]; forward Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A summed over input channels.
//
// The data transforms handle four consecutive tiles per SSE vector (WinogradLanes.swift), each lane
// with the operations, order and zero padding of one tile of a scalar transform, so the bits are those
// of the scalar transforms (Tests: WinogradBitwiseTests against WinogradReference.swift).

/// Sizes of one Winograd F(2×2, 3×3) convolution over a batch, and how the batch is chunked.
struct WinogradGeometry {
    let inputChannels: Int
    let outputChannels: Int
    let batch: Int
    let height: Int
    let width: Int
    /// Samples per chunk: V and M of one chunk take about `chunkFloats` floats, but a chunk has at least
    /// `minimumChunkTiles` tiles (or the whole batch), so that the GEMMs stay wide enough.
    let samplesPerChunk: Int

    /// V and M of one chunk together are kept near this many floats (1 MiB), so that they stay in cache
    /// between the transforms and the GEMMs instead of going out to memory and back.
    static let chunkFloats = 1 << 18
    /// A floor on a chunk's width: narrower GEMMs lose more than the cache gains, so deep layers on
    /// small maps, whose whole batch has few tiles, run unchunked.
    static let minimumChunkTiles = 128

    /// `samplesPerChunk` nil picks it from `chunkFloats` and `minimumChunkTiles` (tests pass one to force chunks).
    init(inputChannels: Int, outputChannels: Int, batch: Int, height: Int, width: Int, samplesPerChunk: Int? = nil) {
        precondition(inputChannels >= 1 && outputChannels >= 1 && batch >= 1 && height >= 1 && width >= 1,
                     "WinogradGeometry: bad sizes Cin=\(inputChannels) Cout=\(outputChannels) N=\(batch) \(height)x\(width)")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.batch = batch
        self.height = height
        self.width = width
        let tiles = ((height + 1) / 2) * ((width + 1) / 2)
        let byCache = Self.chunkFloats / (16 * (inputChannels + outputChannels) * tiles)
        let byWidth = (Self.minimumChunkTiles + tiles - 1) / tiles
        self.samplesPerChunk = min(batch, max(1, samplesPerChunk ?? max(byCache, byWidth)))
    }

    /// Tile rows and columns per sample: ceil(H/2), ceil(W/2).
    var tilesHigh: Int { (height + 1) / 2 }
    var tilesWide: Int { (width + 1) / 2 }
    /// T, the tiles of one sample.
    var tilesPerSample: Int { tilesHigh * tilesWide }
    /// The most columns V and M have (a full chunk).
    var chunkTiles: Int { samplesPerChunk * tilesPerSample }
    /// Floats from one ξ matrix to the next: U (Cout × Cin), V (Cin × P), M (Cout × P).
    var filterStride: Int { winogradMatrixStride(outputChannels * inputChannels) }
    var inputStride: Int { winogradMatrixStride(inputChannels * chunkTiles) }
    var productStride: Int { winogradMatrixStride(outputChannels * chunkTiles) }
}

/// `count` rounded up to 1024 floats (4 KiB) plus 80 floats (5 cache lines): ξ·stride then lands in 16
/// distinct cache sets, and every matrix stays 64-byte aligned relative to the first.
func winogradMatrixStride(_ count: Int) -> Int {
    (count + 1023) / 1024 * 1024 + 80
}

/// U[ξ][co][ci] = (G g Gᵀ)[i][j] for the 3×3 filter g = weight[co, ci]; weight is (Cout, Cin, 3, 3).
/// Four filters per vector, each lane the scalar arithmetic of one filter. The last group of filters is
/// read from a zero-padded copy and writes up to 3 floats past U[ξ], into the margin of the stride.
func winogradFilterTransform(_ weight: UnsafePointer<Float>, _ g: WinogradGeometry, into u: UnsafeMutablePointer<Float>) {
    let count = g.outputChannels * g.inputChannels, stride = g.filterStride, whole = count & ~3
    var f = 0
    while f < whole {
        filterTiles(weight + f &* 9, into: u + f, stride: stride)
        f &+= 4
    }
    guard f < count else { return }
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 36) { last in
        last.initialize(repeating: 0)
        for i in 0..<((count - f) * 9) { last[i] = weight[f * 9 + i] }
        filterTiles(UnsafePointer(last.baseAddress!), into: u + f, stride: stride)
    }
}

/// G g Gᵀ of the four consecutive 3×3 filters at `k`, to `out` + ξ·stride.
@inline(__always)
private func filterTiles(_ k: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, stride: Int) {
    @inline(__always) func element(_ m: Int) -> TileLanes { TileLanes(k[m], k[9 &+ m], k[18 &+ m], k[27 &+ m]) }
    let k0 = element(0), k1 = element(1), k2 = element(2), k3 = element(3), k4 = element(4)
    let k5 = element(5), k6 = element(6), k7 = element(7), k8 = element(8)
    // G g: rows of the filter combined (4 × 3).
    let t3 = 0.5 * (k0 + k3 + k6), t4 = 0.5 * (k1 + k4 + k7), t5 = 0.5 * (k2 + k5 + k8)
    let t6 = 0.5 * (k0 - k3 + k6), t7 = 0.5 * (k1 - k4 + k7), t8 = 0.5 * (k2 - k5 + k8)
    // (G g) Gᵀ: columns combined, row by row.
    @inline(__always) func row(_ i: Int, _ a: TileLanes, _ b: TileLanes, _ c: TileLanes) {
        storeLanes(a, out + (4 &* i) &* stride)
        storeLanes(0.5 * (a + b + c), out + (4 &* i &+ 1) &* stride)
        storeLanes(0.5 * (a - b + c), out + (4 &* i &+ 2) &* stride)
        storeLanes(c, out + (4 &* i &+ 3) &* stride)
    }
    row(0, k0, k1, k2)
    row(1, t3, t4, t5)
    row(2, t6, t7, t8)
    row(3, k6, k7, k8)
}

/// dWeight[co, ci] += Gᵀ dU[co][ci] G: the adjoint of `winogradFilterTransform`, accumulating. Filter by
/// filter: four per vector would need their 36 weights transposed to consecutive floats, which costs
/// more shuffles on SSE than the scalar arithmetic it saves.
func winogradFilterGradientAdd(_ du: UnsafePointer<Float>, _ g: WinogradGeometry, into dWeight: UnsafeMutablePointer<Float>) {
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

/// Floats of tile-space scratch the data transforms need (`tiles` below).
func winogradTileScratchCount(_ g: WinogradGeometry) -> Int { WinogradTileScratch.count(g) }

// The data transforms go channel by channel through pixel runs (WinogradLanes.swift), four tiles at a
// time. The last group of a chunk's tiles writes up to 3 columns past them: into the next channel's
// columns of V or M (written after it) or, after the last channel, into the margin the matrix stride
// leaves. `tiles` holds `winogradTileScratchCount(g)` floats.

/// V[ξ][c][p] = (Bᵀ d B)[i][j] for every tile p of `samples` and every channel c, d the 4×4 input window
/// with zeros outside the image: window row i, column j is pixel (2ty + i − 1, 2tx + j − 1), in the pixel
/// runs at the tile itself or a neighbour, cleared where that neighbour is outside the map.
func winogradInputTransform(_ input: UnsafePointer<Float>, _ g: WinogradGeometry, samples: Range<Int>,
                            tiles: UnsafeMutablePointer<Float>, into v: UnsafeMutablePointer<Float>) {
    let stride = g.inputStride, columns = samples.count * g.tilesPerSample, tw = g.tilesWide
    let scratch = WinogradTileScratch(tiles, g), masks = scratch.masks
    let r0 = UnsafePointer(scratch.runs.run(0)), r1 = UnsafePointer(scratch.runs.run(1))
    let r2 = UnsafePointer(scratch.runs.run(2)), r3 = UnsafePointer(scratch.runs.run(3))
    for channel in 0..<g.inputChannels {
        scatterPixels(input + (channel * g.batch + samples.lowerBound) * g.height * g.width, g, samples: samples.count,
                      into: scratch.runs)
        let out = v + channel * columns
        var tile = 0, phase = 0
        while tile < columns {
            let m = masks.group(phase), above = tile &- tw, below = tile &+ tw
            // Window rows: image rows 2ty − 1 (odd, tile row above), 2ty, 2ty + 1, 2ty + 2 (even, below);
            // columns 2tx − 1 (odd, tile to the left), 2tx, 2tx + 1, 2tx + 2 (even, to the right).
            @inline(__always) func row(_ even: UnsafePointer<Float>, _ odd: UnsafePointer<Float>, _ at: Int) -> WindowRow {
                (masked(loadLanes(odd + (at &- 1)), m.left), loadLanes(even + at), loadLanes(odd + at),
                 masked(loadLanes(even + (at &+ 1)), m.right))
            }
            @inline(__always) func cleared(_ r: WindowRow, _ mask: LaneMask) -> WindowRow {
                (masked(r.0, mask), masked(r.1, mask), masked(r.2, mask), masked(r.3, mask))
            }
            inputTiles(cleared(row(r2, r3, above), m.above), row(r0, r1, tile), row(r2, r3, tile),
                       cleared(row(r0, r1, below), m.below), into: out + tile, stride: stride)
            tile &+= 4
            phase = masks.next(phase)
        }
    }
}

/// Window elements (i, 0…3) of four tiles.
private typealias WindowRow = (TileLanes, TileLanes, TileLanes, TileLanes)

/// Bᵀ d B of four tiles whose window rows are r0…r3, to `out` + ξ·stride.
@inline(__always)
private func inputTiles(_ r0: WindowRow, _ r1: WindowRow, _ r2: WindowRow, _ r3: WindowRow,
                        into out: UnsafeMutablePointer<Float>, stride: Int) {
    // Bᵀ d: rows combined, per window column; then (Bᵀ d) B: columns combined.
    @inline(__always) func row(_ k: Int, _ c0: TileLanes, _ c1: TileLanes, _ c2: TileLanes, _ c3: TileLanes) {
        storeLanes(c0 - c2, out + (4 &* k) &* stride)
        storeLanes(c1 + c2, out + (4 &* k &+ 1) &* stride)
        storeLanes(c2 - c1, out + (4 &* k &+ 2) &* stride)
        storeLanes(c1 - c3, out + (4 &* k &+ 3) &* stride)
    }
    row(0, r0.0 - r2.0, r0.1 - r2.1, r0.2 - r2.2, r0.3 - r2.3)
    row(1, r1.0 + r2.0, r1.1 + r2.1, r1.2 + r2.2, r1.3 + r2.3)
    row(2, r2.0 - r1.0, r2.1 - r1.1, r2.2 - r1.2, r2.3 - r1.3)
    row(3, r1.0 - r3.0, r1.1 - r3.1, r1.2 - r3.2, r1.3 - r3.3)
}

/// output[co, n] = Aᵀ M[·][co][p] A per tile for n in `samples`, clipped to H × W, plus `bias[co]` when
/// given (+0 without: the scalar transform added it either way), into the pixel runs and out to the image.
func winogradOutputTransform(_ m: UnsafePointer<Float>, _ g: WinogradGeometry, samples: Range<Int>, bias: UnsafePointer<Float>?,
                             tiles: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>) {
    let stride = g.productStride, columns = samples.count * g.tilesPerSample
    let runs = WinogradTileScratch.runs(tiles, g)
    for channel in 0..<g.outputChannels {
        let b = TileLanes(repeating: bias?[channel] ?? 0)
        let x = m + channel * columns
        var tile = 0
        while tile < columns {
            outputTiles(x + tile, stride: stride, bias: b, into: runs, at: tile)
            tile &+= 4
        }
        gatherPixels(runs, g, samples: samples.count, into: output + (channel * g.batch + samples.lowerBound) * g.height * g.width)
    }
}

/// Aᵀ M A of four tiles whose product ξ is at `x` + ξ·stride, plus `bias`, to pixel runs 2r + c at `tile`.
@inline(__always)
private func outputTiles(_ x: UnsafePointer<Float>, stride: Int, bias: TileLanes, into runs: TileRuns, at tile: Int) {
    @inline(__always) func m(_ xi: Int) -> TileLanes { loadLanes(x + xi &* stride) }
    // Aᵀ M: rows combined, per column j.
    @inline(__always) func sum(_ j: Int) -> TileLanes { m(j) + m(4 + j) + m(8 + j) }
    @inline(__always) func difference(_ j: Int) -> TileLanes { m(4 + j) - m(8 + j) - m(12 + j) }
    let s0 = sum(0), s1 = sum(1), s2 = sum(2), s3 = sum(3)
    let d0 = difference(0), d1 = difference(1), d2 = difference(2), d3 = difference(3)
    // (Aᵀ M) A: columns combined.
    storeLanes(s0 + s1 + s2 + bias, runs.run(0) + tile)
    storeLanes(s1 - s2 - s3 + bias, runs.run(1) + tile)
    storeLanes(d0 + d1 + d2 + bias, runs.run(2) + tile)
    storeLanes(d1 - d2 - d3 + bias, runs.run(3) + tile)
}

/// Mg[ξ][co][p] = (A dY Aᵀ)[i][j] for the 2×2 output-gradient tile of every tile p of `samples`, zero where
/// the tile hangs past H or W. The adjoint of `winogradOutputTransform`: the image into the pixel runs,
/// then four tiles at a time.
func winogradOutputGradientTransform(_ dOutput: UnsafePointer<Float>, _ g: WinogradGeometry, samples: Range<Int>,
                                     tiles: UnsafeMutablePointer<Float>, into mg: UnsafeMutablePointer<Float>) {
    let stride = g.productStride, columns = samples.count * g.tilesPerSample
    let runs = WinogradTileScratch.runs(tiles, g)
    let r0 = UnsafePointer(runs.run(0)), r1 = UnsafePointer(runs.run(1))
    let r2 = UnsafePointer(runs.run(2)), r3 = UnsafePointer(runs.run(3))
    for channel in 0..<g.outputChannels {
        scatterPixels(dOutput + (channel * g.batch + samples.lowerBound) * g.height * g.width, g, samples: samples.count,
                      into: runs)
        let out = mg + channel * columns
        var tile = 0
        while tile < columns {
            outputGradientTiles(p0: loadLanes(r0 + tile), p1: loadLanes(r1 + tile), q0: loadLanes(r2 + tile),
                                q1: loadLanes(r3 + tile), into: out + tile, stride: stride)
            tile &+= 4
        }
    }
}

/// A dY Aᵀ of four tiles whose output-gradient pixels are (p0, p1; q0, q1), to `out` + ξ·stride.
@inline(__always)
private func outputGradientTiles(p0: TileLanes, p1: TileLanes, q0: TileLanes, q1: TileLanes,
                                 into out: UnsafeMutablePointer<Float>, stride: Int) {
    // A dY: rows (y0, y0 + y1, y0 − y1, −y1), then · Aᵀ: columns the same way.
    let s0 = p0 + q0, s1 = p1 + q1, d0 = p0 - q0, d1 = p1 - q1
    @inline(__always) func row(_ k: Int, _ a: TileLanes, _ b: TileLanes, _ c: TileLanes, _ d: TileLanes) {
        storeLanes(a, out + (4 &* k) &* stride)
        storeLanes(b, out + (4 &* k &+ 1) &* stride)
        storeLanes(c, out + (4 &* k &+ 2) &* stride)
        storeLanes(d, out + (4 &* k &+ 3) &* stride)
    }
    row(0, p0, p0 + p1, p0 - p1, negated(p1))
    row(1, s0, s0 + s1, s0 - s1, negated(s1))
    row(2, d0, d0 + d1, d0 - d1, negated(d1))
    row(3, negated(q0), negated(q0 + q1), q1 - q0, q1)
}

/// dInput[c, n] = Σ over tiles of B dV[·][c][p] Bᵀ for n in `samples`, each 4×4 added at its window,
/// padding positions dropped. The adjoint of `winogradInputTransform`; **overwrites** those samples of
/// `dInput`. Per channel: four tiles at a time, what each tile adds to its window element (i, j), into
/// runs 4 + 4i + j; then each pixel's up to four contributions summed in tile order starting from +0, a
/// missing tile adding +0 — the order and zero start of adding tile after tile onto a zeroed plane, so
/// the same bits — into the pixel runs; then out to the image.
func winogradInputGradientTransform(_ dv: UnsafePointer<Float>, _ g: WinogradGeometry, samples: Range<Int>,
                                    tiles: UnsafeMutablePointer<Float>, into dInput: UnsafeMutablePointer<Float>) {
    let stride = g.inputStride, columns = samples.count * g.tilesPerSample
    let scratch = WinogradTileScratch(tiles, g)
    for channel in 0..<g.inputChannels {
        let x = dv + channel * columns
        var tile = 0
        while tile < columns {
            inputGradientTiles(x + tile, stride: stride, into: scratch.runs, at: tile)
            tile &+= 4
        }
        sumWindowContributions(scratch, g, columns: columns)
        gatherPixels(scratch.runs, g, samples: samples.count,
                     into: dInput + (channel * g.batch + samples.lowerBound) * g.height * g.width)
    }
}

/// B X Bᵀ of four tiles whose dV ξ is at `dv` + ξ·stride, to runs 4 + 4i + j at `tile`: what each tile
/// adds to its window element (i, j), a subtracted term stored negated (a − b is a + (−b) exactly).
@inline(__always)
private func inputGradientTiles(_ dv: UnsafePointer<Float>, stride: Int, into runs: TileRuns, at tile: Int) {
    @inline(__always) func x(_ xi: Int) -> TileLanes { loadLanes(dv + xi &* stride) }
    // B X: rows (x0, x1 − x2 + x3, −x0 + x1 + x2, −x3), per column j.
    let x0 = x(0), x1 = x(1), x2 = x(2), x3 = x(3), x12 = x(12), x13 = x(13), x14 = x(14), x15 = x(15)
    @inline(__always) func b(_ j: Int) -> TileLanes { x(4 + j) - x(8 + j) + x(12 + j) }
    @inline(__always) func e(_ j: Int) -> TileLanes { x(4 + j) + x(8 + j) - x(j) }
    let b0 = b(0), b1 = b(1), b2 = b(2), b3 = b(3), e0 = e(0), e1 = e(1), e2 = e(2), e3 = e(3)
    // (B X) Bᵀ: columns the same way.
    @inline(__always) func row(_ i: Int, _ a: TileLanes, _ b: TileLanes, _ c: TileLanes, _ d: TileLanes) {
        storeLanes(a, runs.run(4 &+ 4 &* i) + tile)
        storeLanes(b, runs.run(5 &+ 4 &* i) + tile)
        storeLanes(c, runs.run(6 &+ 4 &* i) + tile)
        storeLanes(d, runs.run(7 &+ 4 &* i) + tile)
    }
    row(0, x0, x1 - x2 + x3, x1 + x2 - x0, negated(x3))
    row(1, b0, b1 - b2 + b3, b1 + b2 - b0, negated(b3))
    row(2, e0, e1 - e2 + e3, e1 + e2 - e0, negated(e3))
    row(3, negated(x12), negated(x13 - x14 + x15), negated(x13 + x14 - x12), x15)
}

/// Pixel runs from window contributions. Pixel (2ty + r, 2tx + c) is covered by the tiles of rows ty − 1
/// and ty (r = 0) or ty and ty + 1 (r = 1), columns likewise, as window rows 3 and 1 or 2 and 0 (columns
/// likewise); they are added in tile order, above before below, left before right.
private func sumWindowContributions(_ scratch: WinogradTileScratch, _ g: WinogradGeometry, columns: Int) {
    let runs = scratch.runs, masks = scratch.masks, tw = g.tilesWide
    @inline(__always) func contribution(_ i: Int, _ j: Int) -> UnsafePointer<Float> { UnsafePointer(runs.run(4 &+ 4 &* i &+ j)) }
    let g00 = contribution(0, 0), g01 = contribution(0, 1), g02 = contribution(0, 2), g03 = contribution(0, 3)
    let g10 = contribution(1, 0), g11 = contribution(1, 1), g12 = contribution(1, 2), g13 = contribution(1, 3)
    let g20 = contribution(2, 0), g21 = contribution(2, 1), g22 = contribution(2, 2), g23 = contribution(2, 3)
    let g30 = contribution(3, 0), g31 = contribution(3, 1), g32 = contribution(3, 2), g33 = contribution(3, 3)
    let p0 = runs.run(0), p1 = runs.run(1), p2 = runs.run(2), p3 = runs.run(3)
    var tile = 0, phase = 0
    while tile < columns {
        let m = masks.group(phase)
        let aboveLeft = m.above & m.left, aboveRight = m.above & m.right
        let belowLeft = m.below & m.left, belowRight = m.below & m.right
        let up = tile &- tw, down = tile &+ tw
        @inline(__always) func at(_ run: UnsafePointer<Float>, _ p: Int) -> TileLanes { loadLanes(run + p) }
        storeLanes(TileLanes.zero + masked(at(g33, up &- 1), aboveLeft) + masked(at(g31, up), m.above)
                   + masked(at(g13, tile &- 1), m.left) + at(g11, tile), p0 + tile)
        storeLanes(TileLanes.zero + masked(at(g32, up), m.above) + masked(at(g30, up &+ 1), aboveRight)
                   + at(g12, tile) + masked(at(g10, tile &+ 1), m.right), p1 + tile)
        storeLanes(TileLanes.zero + masked(at(g23, tile &- 1), m.left) + at(g21, tile)
                   + masked(at(g03, down &- 1), belowLeft) + masked(at(g01, down), m.below), p2 + tile)
        storeLanes(TileLanes.zero + at(g22, tile) + masked(at(g20, tile &+ 1), m.right)
                   + masked(at(g02, down), m.below) + masked(at(g00, down &+ 1), belowRight), p3 + tile)
        tile &+= 4
        phase = masks.next(phase)
    }
}

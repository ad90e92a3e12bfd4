// Four tiles at a time for the Winograd transforms (Winograd.swift): lane helpers and the tile-space
// scratch the transforms pass through. Image pixel (2ty + r, 2tx + c) of a chunk's sample n is element
// p = (n − first)·T + ty·Tw + tx of pixel run 2r + c: the four pixel runs of a channel hold its image
// tile by tile, in the tile order of V and M. A transform then works on four consecutive tiles per
// vector, reading a neighbouring tile's pixels at p ± 1 or p ± Tw with the lanes that have no such
// neighbour (the map's border) cleared to +0 — the zero padding of the scalar transforms. Each lane does
// exactly the scalar arithmetic of one tile, in the same order, so the results are the same bits.

/// Four consecutive tiles' values: the SSE width, the widest vector of the baseline x86-64 target the
/// package builds for.
typealias TileLanes = SIMD4<Float>
/// A lane mask: all ones (keep) or zero (clear to +0).
typealias LaneMask = SIMD4<UInt32>

@inline(__always)
func loadLanes(_ p: UnsafePointer<Float>) -> TileLanes {
    UnsafeRawPointer(p).loadUnaligned(as: TileLanes.self)
}

@inline(__always)
func storeLanes(_ v: TileLanes, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: TileLanes.self)
}

/// The first `count` lanes of `v` (all four when `count` ≥ 4; `count` ≥ 1). Constant lane indices only:
/// a variable one sends the vector through the stack.
@inline(__always)
func storeLanes(_ v: TileLanes, _ p: UnsafeMutablePointer<Float>, count: Int) {
    switch count {
    case 4...: storeLanes(v, p)
    case 3:
        UnsafeMutableRawPointer(p).storeBytes(of: v.lowHalf, as: SIMD2<Float>.self)
        p[2] = v[2]
    case 2: UnsafeMutableRawPointer(p).storeBytes(of: v.lowHalf, as: SIMD2<Float>.self)
    default: p[0] = v[0]
    }
}

/// −v by the sign bits: SIMD's prefix minus is 0 − v, which gives +0 for +0 where Float's gives −0.
@inline(__always)
func negated(_ v: TileLanes) -> TileLanes {
    unsafeBitCast(unsafeBitCast(v, to: LaneMask.self) ^ 0x8000_0000, to: TileLanes.self)
}

/// `v` with the lanes `mask` clears set to +0.
@inline(__always)
func masked(_ v: TileLanes, _ mask: LaneMask) -> TileLanes {
    unsafeBitCast(unsafeBitCast(v, to: LaneMask.self) & mask, to: TileLanes.self)
}

/// Pixels 0..<`count` of a row as eight lanes, +0 past `count`; reads nothing past them. Built in
/// registers: lanes written one by one through memory and read back as a vector stall the load.
@inline(__always)
func loadPixels(_ p: UnsafePointer<Float>, count: Int) -> SIMD8<Float> {
    switch count {
    case 8...: return UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    case 4: return SIMD8(lowHalf: loadLanes(p), highHalf: .zero)
    default:
        @inline(__always) func pixel(_ i: Int) -> Float { i < count ? p[i] : 0 }
        return SIMD8(pixel(0), pixel(1), pixel(2), pixel(3), pixel(4), pixel(5), pixel(6), 0)
    }
}

/// The first `count` (≥ 1) of the eight pixels that interleave `even` and `odd`: even[0], odd[0],
/// even[1], odd[1], … (unpcklps / unpckhps).
@inline(__always)
func storeInterleaved(_ even: TileLanes, _ odd: TileLanes, _ p: UnsafeMutablePointer<Float>, count: Int) {
    let low = TileLanes(even[0], odd[0], even[1], odd[1])
    if count <= 4 { return storeLanes(low, p, count: count) }
    storeLanes(low, p)
    storeLanes(TileLanes(even[2], odd[2], even[3], odd[3]), p + 4, count: count - 4)
}

/// Runs of one channel of a chunk in tile-space scratch, `length` floats each, with a margin before and
/// after wide enough that a load of four lanes from a neighbour tile of any tile (p ± Tw ± 1) stays in
/// the scratch (what it reads outside the run is cleared or never used).
struct TileRuns {
    let first: UnsafeMutablePointer<Float>
    /// Floats from one run to the next.
    let stride: Int

    init(_ scratch: UnsafeMutablePointer<Float>, length: Int, _ g: WinogradGeometry) {
        let margin = Self.margin(g)
        stride = (length + 3) / 4 * 4 + margin
        first = scratch + margin
    }

    static func margin(_ g: WinogradGeometry) -> Int { (g.tilesWide + 8 + 3) / 4 * 4 }

    /// Floats of scratch that `runs` runs of `length` take.
    static func count(runs: Int, length: Int, _ g: WinogradGeometry) -> Int {
        margin(g) + runs * ((length + 3) / 4 * 4 + margin(g))
    }

    @inline(__always)
    func run(_ k: Int) -> UnsafeMutablePointer<Float> { first + k &* stride }
}

/// For each tile of one period of the tile pattern, whether it has a neighbour tile to the left, right,
/// above and below in its own sample, as lane masks. Tile p of a chunk is tile p mod T of its sample,
/// and groups start at multiples of 4, so the masks of a group repeat every lcm(T, 4) tiles.
struct TileMasks {
    let first: UnsafeMutablePointer<UInt32>
    let period: Int

    static func period(_ g: WinogradGeometry) -> Int {
        let t = g.tilesPerSample
        return t % 4 == 0 ? t : t % 2 == 0 ? 2 * t : 4 * t
    }

    static func count(_ g: WinogradGeometry) -> Int { 4 * period(g) }

    init(_ scratch: UnsafeMutablePointer<Float>, _ g: WinogradGeometry) {
        period = Self.period(g)
        first = UnsafeMutableRawPointer(scratch).bindMemory(to: UInt32.self, capacity: 4 * period)
        let tw = g.tilesWide, th = g.tilesHigh, t = g.tilesPerSample
        for p in 0..<period {
            let tile = p % t, tx = tile % tw, ty = tile / tw
            first[p] = tx > 0 ? ~0 : 0
            first[period + p] = tx < tw - 1 ? ~0 : 0
            first[2 * period + p] = ty > 0 ? ~0 : 0
            first[3 * period + p] = ty < th - 1 ? ~0 : 0
        }
    }

    /// The masks of the group of four tiles from `phase` (a multiple of 4 below `period`).
    @inline(__always)
    func group(_ phase: Int) -> (left: LaneMask, right: LaneMask, above: LaneMask, below: LaneMask) {
        @inline(__always) func load(_ k: Int) -> LaneMask {
            UnsafeRawPointer(first + (k &* period &+ phase)).loadUnaligned(as: LaneMask.self)
        }
        return (load(0), load(1), load(2), load(3))
    }

    /// The phase of the group after the one at `phase`.
    @inline(__always)
    func next(_ phase: Int) -> Int {
        phase &+ 4 == period ? 0 : phase &+ 4
    }
}

/// The tile-space scratch of one transform call: masks first, then runs of a full chunk's tiles.
struct WinogradTileScratch {
    let masks: TileMasks
    let runs: TileRuns

    /// The masks computed, for the transforms that read neighbour tiles.
    init(_ scratch: UnsafeMutablePointer<Float>, _ g: WinogradGeometry) {
        masks = TileMasks(scratch, g)
        runs = Self.runs(scratch, g)
    }

    /// The runs alone, for the transforms that read only each tile's own pixels.
    static func runs(_ scratch: UnsafeMutablePointer<Float>, _ g: WinogradGeometry) -> TileRuns {
        TileRuns(scratch + TileMasks.count(g), length: g.chunkTiles, g)
    }

    /// Floats the transforms need: the masks, 16 window-contribution runs and 4 pixel runs of a chunk.
    static func count(_ g: WinogradGeometry) -> Int {
        TileMasks.count(g) + TileRuns.count(runs: 20, length: g.chunkTiles, g)
    }
}

// MARK: - Image rows and pixel runs

/// Pixel runs 0…3 of `runs` from the images of `samples` consecutive samples of one channel (`image`
/// the first), +0 where a tile hangs past H or W.
func scatterPixels(_ image: UnsafePointer<Float>, _ g: WinogradGeometry, samples: Int, into runs: TileRuns) {
    guard g.height % 2 == 0 else { return scatterPixelRows(image, g, samples: samples, into: runs) }
    let tileRows = samples * g.tilesHigh
    let r0 = runs.run(0), r1 = runs.run(1), r2 = runs.run(2), r3 = runs.run(3)
    switch g.width {
    case 2:
        // A tile row is one tile, its four pixels consecutive: four tile rows are a 4 × 4 transpose.
        var t = 0
        while t < tileRows {
            let rows = image + 4 &* t, left = tileRows &- t
            @inline(__always) func row(_ k: Int) -> TileLanes { k < left ? loadLanes(rows + 4 &* k) : .zero }
            let a = row(0), b = row(1), c = row(2), d = row(3)
            storeLanes(TileLanes(a[0], b[0], c[0], d[0]), r0 + t)
            storeLanes(TileLanes(a[1], b[1], c[1], d[1]), r1 + t)
            storeLanes(TileLanes(a[2], b[2], c[2], d[2]), r2 + t)
            storeLanes(TileLanes(a[3], b[3], c[3], d[3]), r3 + t)
            t &+= 4
        }
    case 4:
        // Two tile rows (four image rows a…d) are four tiles: even and odd pixels of a and c, of b and d.
        var t = 0
        while t < tileRows {
            let rows = image + 8 &* t, two = t &+ 1 < tileRows
            let a = loadLanes(rows), b = loadLanes(rows + 4)
            let c = two ? loadLanes(rows + 8) : .zero, d = two ? loadLanes(rows + 12) : .zero
            storeLanes(TileLanes(a[0], a[2], c[0], c[2]), r0 + 2 &* t)
            storeLanes(TileLanes(a[1], a[3], c[1], c[3]), r1 + 2 &* t)
            storeLanes(TileLanes(b[0], b[2], d[0], d[2]), r2 + 2 &* t)
            storeLanes(TileLanes(b[1], b[3], d[1], d[3]), r3 + 2 &* t)
            t &+= 2
        }
    case let w where w % 8 == 0:
        let tw = g.tilesWide
        for t in 0..<tileRows {
            let a = image + 2 &* t &* w, b = a + w, at = t &* tw
            var tx = 0
            while tx < tw {
                let top = UnsafeRawPointer(a + 2 &* tx).loadUnaligned(as: SIMD8<Float>.self)
                let bottom = UnsafeRawPointer(b + 2 &* tx).loadUnaligned(as: SIMD8<Float>.self)
                storeLanes(top.evenHalf, r0 + at + tx)
                storeLanes(top.oddHalf, r1 + at + tx)
                storeLanes(bottom.evenHalf, r2 + at + tx)
                storeLanes(bottom.oddHalf, r3 + at + tx)
                tx &+= 4
            }
        }
    default:
        scatterPixelRows(image, g, samples: samples, into: runs)
    }
}

/// `scatterPixels` for any size, image row by image row.
private func scatterPixelRows(_ image: UnsafePointer<Float>, _ g: WinogradGeometry, samples: Int, into runs: TileRuns) {
    let h = g.height, w = g.width, tw = g.tilesWide
    for sample in 0..<samples {
        for y in 0..<(2 * g.tilesHigh) {
            let at = sample * g.tilesPerSample + (y >> 1) * tw, r = y & 1
            let even = runs.run(2 * r) + at, odd = runs.run(2 * r + 1) + at
            guard y < h else {
                fill(even, 0, count: tw)
                fill(odd, 0, count: tw)
                continue
            }
            // Whole groups: what runs past the tile row lands on the next one, written after it.
            let source = image + (sample * h + y) * w
            var tx = 0
            while tx < tw {
                let row = loadPixels(source + 2 &* tx, count: min(8, w &- 2 &* tx))
                storeLanes(row.evenHalf, even + tx)
                storeLanes(row.oddHalf, odd + tx)
                tx &+= 4
            }
        }
    }
}

/// The inverse of `scatterPixels`: the images of `samples` consecutive samples of one channel (`image`
/// the first) from pixel runs 0…3 of `runs`, clipped to H × W.
func gatherPixels(_ runs: TileRuns, _ g: WinogradGeometry, samples: Int, into image: UnsafeMutablePointer<Float>) {
    guard g.height % 2 == 0 else { return gatherPixelRows(runs, g, samples: samples, into: image) }
    let tileRows = samples * g.tilesHigh
    let r0 = UnsafePointer(runs.run(0)), r1 = UnsafePointer(runs.run(1))
    let r2 = UnsafePointer(runs.run(2)), r3 = UnsafePointer(runs.run(3))
    switch g.width {
    case 2:
        var t = 0
        while t < tileRows {
            let p0 = loadLanes(r0 + t), p1 = loadLanes(r1 + t), p2 = loadLanes(r2 + t), p3 = loadLanes(r3 + t)
            let rows = image + 4 &* t, left = tileRows &- t
            storeLanes(TileLanes(p0[0], p1[0], p2[0], p3[0]), rows)
            if left > 1 { storeLanes(TileLanes(p0[1], p1[1], p2[1], p3[1]), rows + 4) }
            if left > 2 { storeLanes(TileLanes(p0[2], p1[2], p2[2], p3[2]), rows + 8) }
            if left > 3 { storeLanes(TileLanes(p0[3], p1[3], p2[3], p3[3]), rows + 12) }
            t &+= 4
        }
    case 4:
        var t = 0
        while t < tileRows {
            let p0 = loadLanes(r0 + 2 &* t), p1 = loadLanes(r1 + 2 &* t)
            let p2 = loadLanes(r2 + 2 &* t), p3 = loadLanes(r3 + 2 &* t)
            let rows = image + 8 &* t
            storeLanes(TileLanes(p0[0], p1[0], p0[1], p1[1]), rows)
            storeLanes(TileLanes(p2[0], p3[0], p2[1], p3[1]), rows + 4)
            if t &+ 1 < tileRows {
                storeLanes(TileLanes(p0[2], p1[2], p0[3], p1[3]), rows + 8)
                storeLanes(TileLanes(p2[2], p3[2], p2[3], p3[3]), rows + 12)
            }
            t &+= 2
        }
    case let w where w % 8 == 0:
        let tw = g.tilesWide
        for t in 0..<tileRows {
            let a = image + 2 &* t &* w, b = a + w, at = t &* tw
            var tx = 0
            while tx < tw {
                storeInterleaved(loadLanes(r0 + at + tx), loadLanes(r1 + at + tx), a + 2 &* tx, count: 8)
                storeInterleaved(loadLanes(r2 + at + tx), loadLanes(r3 + at + tx), b + 2 &* tx, count: 8)
                tx &+= 4
            }
        }
    default:
        gatherPixelRows(runs, g, samples: samples, into: image)
    }
}

/// `gatherPixels` for any size, image row by image row.
private func gatherPixelRows(_ runs: TileRuns, _ g: WinogradGeometry, samples: Int, into image: UnsafeMutablePointer<Float>) {
    let h = g.height, w = g.width, tw = g.tilesWide
    for sample in 0..<samples {
        for y in 0..<h {
            let at = sample * g.tilesPerSample + (y >> 1) * tw, r = y & 1
            let even = runs.run(2 * r) + at, odd = runs.run(2 * r + 1) + at
            let target = image + (sample * h + y) * w
            var tx = 0
            while tx < tw {
                storeInterleaved(loadLanes(even + tx), loadLanes(odd + tx), target + 2 &* tx, count: min(8, w &- 2 &* tx))
                tx &+= 4
            }
        }
    }
}

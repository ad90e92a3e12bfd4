/// What `lips data prepare image-folder` does to each decoded image, as torchvision's
/// `Resize(size)` then `CenterCrop(size)` on a PIL image do, after the loader's channel
/// conversion:
///
/// 1. Channels: grey → RGB repeats the grey value; RGB → grey is PIL's `convert("L")`,
///    (19595 R + 38470 G + 7471 B + 32768) >> 16.
/// 2. Resize, keeping the aspect ratio, to the smallest size that covers H×W: when H·w ≥ W·h the
///    height becomes H and the width ⌊H·w / h⌋, else the width becomes W and the height ⌊W·h / w⌋.
///    For a square H = W = S this is `Resize(S)` (shorter side to S, longer side ⌊S·long / short⌋).
///    Resampling is PIL's `BILINEAR` as its `Resample.c` computes it: a triangle filter widened by
///    the scale factor when shrinking (so shrinking averages, not skips, pixels), weights in 22-bit
///    fixed point, the horizontal pass first, rounded to bytes, then the vertical pass; a side whose
///    size does not change is not resampled.
/// 3. Centre crop to H×W: the top and left offsets are round((size − crop) / 2) with Python's
///    rounding (halves to even), as `CenterCrop` computes them.
///
/// The result is interleaved (H, W, C), as `.npy` image arrays hold it (`NPYDataset` moves it to
/// the engine's (C, H, W) when it reads the file).
enum ImageResize {
    /// `image` converted to `channels` (1 or 3), resized and centre-cropped to `height`×`width`,
    /// in (H, W, C) order.
    static func prepare(_ image: DecodedImage, channels: Int, height: Int, width: Int) -> [UInt8] {
        let converted = convert(image, channels: channels)
        let h = image.height, w = image.width
        let (resizedH, resizedW) = height * w >= width * h ? (height, height * w / h) : (width * h / w, width)
        let top = centreOffset(resizedH - height), left = centreOffset(resizedW - width)
        let columns = resizedW == w ? identity(left, width) : coefficients(input: w, output: resizedW, range: left..<(left + width))
        let rows = resizedH == h ? identity(top, height) : coefficients(input: h, output: resizedH, range: top..<(top + height))
        var output = [UInt8](repeating: 0, count: channels * height * width)
        // Horizontal pass over the input rows the vertical pass needs, as PIL does.
        let firstRow = rows.map(\.start).min()!, lastRow = rows.map { $0.start + $0.weights.count }.max()!
        var horizontal = [UInt8](repeating: 0, count: (lastRow - firstRow) * width * channels)
        for y in firstRow..<lastRow {
            for (x, column) in columns.enumerated() {
                for c in 0..<channels {
                    var sum = 1 << (precisionBits - 1)
                    for (k, weight) in column.weights.enumerated() {
                        sum += Int(converted[(y * w + column.start + k) * channels + c]) * weight
                    }
                    horizontal[((y - firstRow) * width + x) * channels + c] = clip(sum)
                }
            }
        }
        for (y, row) in rows.enumerated() {
            for x in 0..<width {
                for c in 0..<channels {
                    var sum = 1 << (precisionBits - 1)
                    for (k, weight) in row.weights.enumerated() {
                        sum += Int(horizontal[((row.start + k - firstRow) * width + x) * channels + c]) * weight
                    }
                    output[(y * width + x) * channels + c] = clip(sum)
                }
            }
        }
        return output
    }

    /// Interleaved pixels of `image` in `channels` (1 or 3) channels.
    static func convert(_ image: DecodedImage, channels: Int) -> [UInt8] {
        if image.channels == channels { return image.pixels }
        let count = image.width * image.height
        if channels == 3 {
            var rgb = [UInt8](repeating: 0, count: 3 * count)
            for p in 0..<count { rgb[3 * p] = image.pixels[p]; rgb[3 * p + 1] = image.pixels[p]; rgb[3 * p + 2] = image.pixels[p] }
            return rgb
        }
        return (0..<count).map { p in
            let r = Int(image.pixels[3 * p]), g = Int(image.pixels[3 * p + 1]), b = Int(image.pixels[3 * p + 2])
            return UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
        }
    }

    /// Python's round(d / 2) for d ≥ 0: halves go to the even neighbour.
    static func centreOffset(_ difference: Int) -> Int {
        let half = difference / 2
        return difference % 2 == 1 && half % 2 == 1 ? half + 1 : half
    }

    static let precisionBits = 22

    /// One output sample: the first input index it reads and the fixed-point weights from there.
    struct Tap { let start: Int; let weights: [Int] }

    static func identity(_ offset: Int, _ count: Int) -> [Tap] {
        (offset..<(offset + count)).map { Tap(start: $0, weights: [1 << precisionBits]) }
    }

    /// PIL's `precompute_coeffs` and `normalize_coeffs_8bpc` for the bilinear filter, for the
    /// outputs in `range` of a resize from `input` to `output` samples.
    static func coefficients(input: Int, output: Int, range: Range<Int>) -> [Tap] {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = filterScale  // the bilinear (triangle) filter's support is 1
        return range.map { x in
            let centre = (Double(x) + 0.5) * scale
            let start = max(Int(centre - support + 0.5), 0)
            let end = min(Int(centre + support + 0.5), input)
            let reciprocal = 1 / filterScale
            var weights = (start..<end).map { i in max(0, 1 - abs((Double(i) - centre + 0.5) * reciprocal)) }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            let unit = Double(1 << precisionBits)
            return Tap(start: start, weights: weights.map { Int(($0 < 0 ? -0.5 : 0.5) + $0 * unit) })
        }
    }

    /// A fixed-point sum back to a byte, clamped to 0...255.
    static func clip(_ sum: Int) -> UInt8 { UInt8(max(0, min(255, sum >> precisionBits))) }
}

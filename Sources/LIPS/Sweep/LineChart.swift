import Foundation

/// A line chart with one series per group of runs: the mean over seeds as a line with markers,
/// the min–max over seeds as a translucent band, axes with ticks, grid lines and a legend.
///
/// Each series is a `<polyline class="series" data-method="…" data-label="…">` and its band a
/// `<polygon class="band" …>`, inside a `<g class="series-group">`, so tools (and the tests) can
/// find them.
struct LineChart {
    struct Point {
        let x: Double
        let mean: Double
        let low: Double
        let high: Double
    }

    struct Series {
        let label: String
        let method: String
        let points: [Point]
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    /// A y range to always include (accuracies and densities: 0...1 looks honest; nil fits the data).
    var yInclude: ClosedRange<Double>? = nil

    func svg() -> String {
        let legendWidth = min(320, max(160, 40 + 7 * Double(series.map(\.label.count).max() ?? 0)))
        let left = 70.0, right = 20 + legendWidth, top = 48.0, bottom = 58.0
        let plotWidth = 560.0, plotHeight = 340.0
        var doc = SVGDocument(width: left + plotWidth + right, height: top + plotHeight + bottom, title: title)
        doc.text(left + plotWidth / 2, 28, title, anchor: "middle", size: 16, weight: "bold")

        let all = series.flatMap(\.points)
        var xLow = all.map(\.x).min() ?? 0, xHigh = all.map(\.x).max() ?? 1
        if xHigh <= xLow { xLow -= 1; xHigh += 1 }
        var yLow = all.map(\.low).filter(\.isFinite).min() ?? 0, yHigh = all.map(\.high).filter(\.isFinite).max() ?? 1
        if let yInclude { yLow = min(yLow, yInclude.lowerBound); yHigh = max(yHigh, yInclude.upperBound) }
        if yHigh <= yLow { yLow -= 0.05; yHigh += 0.05 }
        // Widen the y range to whole tick steps, so the axis starts and ends on a tick.
        var yTicks = SVGDocument.ticks(yLow, yHigh)
        if yTicks.count > 1 {
            let step = yTicks[1] - yTicks[0]
            yLow = (yLow / step + 1e-9).rounded(.down) * step
            yHigh = (yHigh / step - 1e-9).rounded(.up) * step
            yTicks = stride(from: yLow, through: yHigh + step / 2, by: step).map { abs($0) < step * 1e-9 ? 0 : $0 }
        }
        let xTicks = SVGDocument.ticks(xLow, xHigh, integers: true)
        func px(_ x: Double) -> Double { left + (x - xLow) / (xHigh - xLow) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - (y - yLow) / (yHigh - yLow) * plotHeight }

        // Grid, axes, ticks.
        doc.open(["class": "axes"])
        let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1, xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
        for tick in yTicks {
            doc.line(left, py(tick), left + plotWidth, py(tick), stroke: "#e4e4e4", className: "grid")
            doc.line(left - 5, py(tick), left, py(tick), stroke: "#333")
            doc.text(left - 8, py(tick) + 4, SVGDocument.label(tick, step: yStep), anchor: "end", size: 11)
        }
        for tick in xTicks {
            doc.line(px(tick), top + plotHeight, px(tick), top + plotHeight + 5, stroke: "#333")
            doc.text(px(tick), top + plotHeight + 19, SVGDocument.label(tick, step: xStep), anchor: "middle", size: 11)
        }
        doc.line(left, top + plotHeight, left + plotWidth, top + plotHeight, stroke: "#333")
        doc.line(left, top, left, top + plotHeight, stroke: "#333")
        doc.text(left + plotWidth / 2, top + plotHeight + 44, xLabel, anchor: "middle", size: 13)
        doc.text(20, top + plotHeight / 2, yLabel, anchor: "middle", size: 13, rotate: true)
        doc.close()

        // Series: band first, then the line and its markers.
        for (index, one) in series.enumerated() {
            let color = SVGDocument.color(index)
            let points = one.points.filter { $0.mean.isFinite }
            doc.open(["class": "series-group", "data-method": one.method, "data-label": one.label])
            let band = points.map { (x: px($0.x), y: py($0.high)) } + points.reversed().map { (x: px($0.x), y: py($0.low)) }
            doc.add("polygon", ["class": "band", "data-method": one.method, "points": SVGDocument.points(band),
                                "fill": color, "fill-opacity": "0.18", "stroke": "none"])
            doc.add("polyline", ["class": "series", "data-method": one.method, "data-label": one.label,
                                 "points": SVGDocument.points(points.map { (x: px($0.x), y: py($0.mean)) }),
                                 "fill": "none", "stroke": color, "stroke-width": "2"])
            for point in points {
                doc.add("circle", ["class": "marker", "cx": SVGDocument.number(px(point.x)), "cy": SVGDocument.number(py(point.mean)),
                                   "r": "2.5", "fill": color])
            }
            doc.close()
        }

        // Legend.
        doc.open(["class": "legend"])
        let legendX = left + plotWidth + 20
        for (index, one) in series.enumerated() {
            let y = top + 10 + Double(index) * 20
            doc.add("rect", ["x": SVGDocument.number(legendX), "y": SVGDocument.number(y - 9), "width": "18", "height": "10",
                             "fill": SVGDocument.color(index), "fill-opacity": "0.35", "stroke": SVGDocument.color(index)])
            doc.text(legendX + 24, y, one.label, size: 12)
        }
        doc.text(legendX, top + 18 + Double(series.count) * 20, "line: mean over seeds", size: 10)
        doc.text(legendX, top + 32 + Double(series.count) * 20, "band: min–max over seeds", size: 10)
        doc.close()
        return doc.rendered()
    }
}

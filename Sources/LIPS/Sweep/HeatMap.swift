import Foundation

/// Layer × round heat maps, one panel per group of runs, on one shared logarithmic colour scale
/// (viridis: dark = small, yellow = large) with a colour bar. Used for the relative update
/// ‖W_{r+1} − W_r‖/‖W_r‖ per layer: the layer-wise inertia picture, where still middle layers
/// show as dark rows.
///
/// Each panel is a `<g class="panel" data-method="…" data-label="…">` of
/// `<rect class="cell" data-layer="…" data-round="…" data-value="…">` elements.
struct HeatMap {
    struct Panel {
        let label: String
        let method: String
        /// Row names (layers), top to bottom.
        let rows: [String]
        /// Column values (rounds), left to right.
        let columns: [Int]
        /// values[row][column]; nil where no run has the value.
        let values: [[Double?]]
    }

    var title: String
    var valueLabel: String
    var panels: [Panel]

    func svg() -> String {
        let longest = panels.flatMap(\.rows).map(\.count).max() ?? 4
        let left = 20 + 6.6 * Double(longest), top = 48.0
        let columns = panels.map(\.columns.count).max() ?? 1
        let cellWidth = max(3, min(44, 600 / Double(max(1, columns)))), cellHeight = 16.0
        let mapWidth = cellWidth * Double(columns)
        let panelHeights = panels.map { 30 + cellHeight * Double($0.rows.count) + 34 }
        let width = max(left + mapWidth + 170, 40 + 9.8 * Double(title.count)), height = top + panelHeights.reduce(0, +) + 10
        var doc = SVGDocument(width: width, height: max(height, 300), title: title)
        doc.text(20, 28, title, size: 16, weight: "bold")

        let finite = panels.flatMap { $0.values.flatMap { $0.compactMap { $0 } } }.filter { $0 > 0 && $0.isFinite }
        var low = log10(finite.min() ?? 1e-3), high = log10(finite.max() ?? 1)
        if high - low < 1e-9 { low -= 0.5; high += 0.5 }
        func fraction(_ value: Double) -> Double { max(0, min(1, (log10(value) - low) / (high - low))) }

        var y = top
        for panel in panels {
            doc.open(["class": "panel", "data-method": panel.method, "data-label": panel.label])
            doc.text(left, y + 16, panel.label, size: 13, weight: "bold")
            let mapTop = y + 26
            for (row, layer) in panel.rows.enumerated() {
                let rowY = mapTop + Double(row) * cellHeight
                doc.text(left - 6, rowY + cellHeight - 4, layer, anchor: "end", size: 11)
                for (column, round) in panel.columns.enumerated() {
                    guard let value = panel.values[row][column] else { continue }
                    let color = value > 0 && value.isFinite ? HeatMap.viridis(fraction(value)) : "#cccccc"
                    doc.add("rect", ["class": "cell", "data-layer": layer, "data-round": "\(round)", "data-value": "\(value)",
                                     "x": SVGDocument.number(left + Double(column) * cellWidth), "y": SVGDocument.number(rowY),
                                     "width": SVGDocument.number(cellWidth + 0.3), "height": SVGDocument.number(cellHeight + 0.3),
                                     "fill": color])
                }
            }
            // Round ticks under the panel.
            let bottom = mapTop + cellHeight * Double(panel.rows.count)
            if let first = panel.columns.first, let last = panel.columns.last {
                let ticks = SVGDocument.ticks(Double(first), Double(last), integers: true)
                for tick in ticks.isEmpty ? [Double(first)] : ticks {
                    guard let column = panel.columns.firstIndex(of: Int(tick)) else { continue }
                    let x = left + (Double(column) + 0.5) * cellWidth
                    doc.line(x, bottom, x, bottom + 4, stroke: "#333")
                    doc.text(x, bottom + 16, "\(Int(tick))", anchor: "middle", size: 10)
                }
            }
            doc.text(left + mapWidth / 2, bottom + 29, "round", anchor: "middle", size: 11)
            doc.close()
            y += 30 + cellHeight * Double(panel.rows.count) + 34
        }

        // Colour bar: log scale, ticks at round logarithms.
        doc.open(["class": "colorbar"])
        let barX = left + mapWidth + 24, barTop = top + 26, barHeight = 200.0, steps = 40
        for step in 0..<steps {
            let t = 1 - Double(step) / Double(steps - 1)
            doc.add("rect", ["x": SVGDocument.number(barX), "y": SVGDocument.number(barTop + Double(step) * barHeight / Double(steps)),
                             "width": "14", "height": SVGDocument.number(barHeight / Double(steps) + 0.5),
                             "fill": HeatMap.viridis(t)])
        }
        for tick in HeatMap.logTicks(low, high) {
            let ty = barTop + (1 - (log10(tick) - low) / (high - low)) * barHeight
            doc.line(barX + 14, ty, barX + 18, ty, stroke: "#333")
            doc.text(barX + 21, ty + 4, HeatMap.tickLabel(tick), size: 10)
        }
        doc.text(barX, barTop - 8, valueLabel, size: 10)
        doc.close()
        return doc.rendered()
    }

    /// Values 1, 2 and 5 × 10^k between 10^low and 10^high (only the powers of ten when that
    /// makes more than eight).
    static func logTicks(_ low: Double, _ high: Double) -> [Double] {
        let range = pow(10, low) * (1 - 1e-9)...pow(10, high) * (1 + 1e-9)
        let decades = Int(low.rounded(.down))...Int(high.rounded(.up))
        let all = decades.flatMap { k in [1.0, 2, 5].map { $0 * pow(10, Double(k)) } }.filter(range.contains)
        return all.count > 8 ? all.filter { log10($0) == log10($0).rounded() } : all
    }

    /// `0.05`, `0.2`, `1`, `2e-05`.
    static func tickLabel(_ value: Double) -> String {
        if value >= 1e-3 && value < 1e4 { return String(format: "%g", value) }
        return String(format: "%.0e", value)
    }

    /// Viridis at t in [0, 1], linear between five of its colours.
    static func viridis(_ t: Double) -> String {
        let stops: [(Double, Double, Double)] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
        let scaled = max(0, min(1, t)) * Double(stops.count - 1)
        let index = min(stops.count - 2, Int(scaled)), f = scaled - Double(index)
        let a = stops[index], b = stops[index + 1]
        let r = Int((a.0 + (b.0 - a.0) * f).rounded()), g = Int((a.1 + (b.1 - a.1) * f).rounded()),
            bl = Int((a.2 + (b.2 - a.2) * f).rounded())
        return String(format: "#%02x%02x%02x", r, g, bl)
    }
}

import Foundation

/// A small SVG 1.1 writer: elements appended in drawing order, attribute values and text
/// escaped, numbers with two decimals. What `LineChart` and `HeatMap` draw on; the result is a
/// standalone `.svg` file (XML declaration, `xmlns`, a `<title>`) that any browser opens.
struct SVGDocument {
    let width: Double
    let height: Double
    private var body: [String] = []
    private var depth = 1

    init(width: Double, height: Double, title: String) {
        self.width = width
        self.height = height
        body.append("  <title>\(SVGDocument.escape(title))</title>")
        body.append("  <rect x=\"0\" y=\"0\" width=\"\(SVGDocument.number(width))\" height=\"\(SVGDocument.number(height))\" fill=\"white\"/>")
    }

    /// `<name a="v" …/>`, or with content `<name …>content</name>` (content escaped unless `raw`).
    mutating func add(_ name: String, _ attributes: KeyValuePairs<String, String>, text: String? = nil) {
        var line = String(repeating: "  ", count: depth) + "<" + name
        for (key, value) in attributes { line += " \(key)=\"\(SVGDocument.escape(value))\"" }
        if let text {
            line += ">\(SVGDocument.escape(text))</\(name)>"
        } else {
            line += "/>"
        }
        body.append(line)
    }

    /// Opens a `<g>`; `close()` ends it.
    mutating func open(_ attributes: KeyValuePairs<String, String>) {
        var line = String(repeating: "  ", count: depth) + "<g"
        for (key, value) in attributes { line += " \(key)=\"\(SVGDocument.escape(value))\"" }
        body.append(line + ">")
        depth += 1
    }

    mutating func close() {
        depth -= 1
        body.append(String(repeating: "  ", count: depth) + "</g>")
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1, className: String? = nil) {
        add("line", ["x1": n(x1), "y1": n(y1), "x2": n(x2), "y2": n(y2), "stroke": stroke,
                     "stroke-width": n(width), "class": className ?? "axis"])
    }

    mutating func text(_ x: Double, _ y: Double, _ text: String, anchor: String = "start", size: Double = 12,
                       rotate: Bool = false, weight: String = "normal") {
        if rotate {
            add("text", ["x": n(x), "y": n(y), "font-size": n(size), "text-anchor": anchor, "font-weight": weight,
                         "transform": "rotate(-90 \(n(x)) \(n(y)))"], text: text)
        } else {
            add("text", ["x": n(x), "y": n(y), "font-size": n(size), "text-anchor": anchor, "font-weight": weight], text: text)
        }
    }

    /// The whole file.
    func rendered() -> String {
        var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        text += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(n(width))\" height=\"\(n(height))\" "
        text += "viewBox=\"0 0 \(n(width)) \(n(height))\" font-family=\"Helvetica, Arial, sans-serif\">\n"
        text += body.joined(separator: "\n") + "\n</svg>\n"
        return text
    }

    /// Points as SVG's `x,y x,y …`.
    static func points(_ points: [(x: Double, y: Double)]) -> String {
        points.map { "\(number($0.x)),\(number($0.y))" }.joined(separator: " ")
    }

    /// Two decimals, no trailing zeros beyond what is needed ("12.5", "3", "-0.25").
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }

    private func n(_ value: Double) -> String { SVGDocument.number(value) }

    /// XML-escapes `&`, `<`, `>`, `"` and `'`, and drops the control characters XML 1.0 forbids.
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case _ where scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r": continue
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// About five round-numbered ticks (1, 2 or 5 × 10^k apart) covering `low...high`;
    /// `integers` keeps the step ≥ 1 (rounds).
    static func ticks(_ low: Double, _ high: Double, integers: Bool = false) -> [Double] {
        guard low.isFinite, high.isFinite, high > low else { return [low] }
        let raw = (high - low) / 5
        let magnitude = pow(10, floor(log10(raw)))
        var step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        if integers { step = max(1, step.rounded(.up)) }
        var ticks: [Double] = []
        var tick = (low / step).rounded(.up) * step
        while tick <= high + step * 1e-9 {
            ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
            tick += step
        }
        return ticks
    }

    /// A tick label: integers without decimals, others with as many as the step needs.
    static func label(_ value: Double, step: Double) -> String {
        if value == value.rounded() && step >= 1 { return String(Int(value)) }
        let decimals = max(0, min(6, Int(-floor(log10(step)))))
        return String(format: "%.\(decimals)f", value)
    }

    /// The categorical colours (Tableau 10), one per series in order.
    static let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                          "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

    static func color(_ index: Int) -> String { palette[index % palette.count] }
}

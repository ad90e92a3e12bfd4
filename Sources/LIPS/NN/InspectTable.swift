/// The text table of `lips inspect`: one row per layer, then the totals.
public enum InspectTable {
    public static func render(_ model: Model) -> String {
        let rows = model.summary
        let header = ["layer", "type", "output", "params", "MACs"]
        var table = [header]
        for row in rows {
            table.append([row.name, row.type, row.outputShape.description, grouped(row.parameters), grouped(row.multiplyAdds)])
        }
        let totalParameters = model.parameterLayout.count
        let totalMACs = model.multiplyAddsPerSample
        table.append(["total", "", "", grouped(totalParameters), grouped(totalMACs)])
        let widths = (0..<header.count).map { column in table.map { $0[column].count }.max()! }
        var lines: [String] = ["\(model.name): input \(model.inputShape), \(model.classes) classes"]
        for (index, row) in table.enumerated() {
            if index == 1 || index == table.count - 1 {
                lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
            }
            let cells = row.enumerated().map { column, cell in
                column < 3 ? cell.padding(toLength: widths[column]) : cell.leftPadding(toLength: widths[column])
            }
            lines.append(cells.joined(separator: "  "))
        }
        lines.append("parameters \(grouped(totalParameters)) (\(grouped(totalParameters * 4)) bytes as fp32); "
            + "BN statistics \(grouped(model.statisticsLayout.count)); "
            + "forward \(grouped(totalMACs)) multiply-adds per sample; "
            + "maskable by LIPS \(grouped(model.parameterLayout.maskableEntries.reduce(0) { $0 + $1.count })) weights")
        return lines.joined(separator: "\n")
    }

    /// 1235274 → "1,235,274".
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return value < 0 ? "-" + out : out
    }
}

private extension String {
    func padding(toLength length: Int) -> String { self + String(repeating: " ", count: max(0, length - count)) }
    func leftPadding(toLength length: Int) -> String { String(repeating: " ", count: max(0, length - count)) + self }
}

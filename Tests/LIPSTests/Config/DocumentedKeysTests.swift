import Foundation
import Testing
@testable import LIPS

/// The README's key table and data/README.md say what the code does.
@Suite struct DocumentedKeysTests {
    static func text(_ path: String) throws -> String {
        try String(contentsOf: ConfigTests.root.appendingPathComponent(path), encoding: .utf8)
    }

    /// Every config key appears, as `key`, in the first column of a row of the README's key table.
    @Test func everyKeyIsInTheReadmesTable() throws {
        let rows = try Self.text("README.md").split(separator: "\n").filter { $0.hasPrefix("| `") }
        let documented = Set(rows.flatMap { row -> [String] in
            let first = row.split(separator: "|").first ?? ""
            return first.split(separator: "`").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
        })
        let missing = ExperimentConfig.keyNames.filter { !documented.contains($0) }
        #expect(missing.isEmpty, "README.md's key table lacks \(missing)")
    }

    /// data/README.md's command lines use only options the commands have: `lips run` takes the
    /// folder as `--set data_dir=…`, and only `lips data` has `--data-dir`.
    @Test func theDataReadmeUsesTheRealOptions() throws {
        for line in try Self.text("data/README.md").split(separator: "\n") where line.contains("--data-dir") {
            for command in ["lips run", "lips sweep"] where line.contains(command) {
                let after = line.components(separatedBy: command).dropFirst().joined()
                let end = after.firstIndex(of: "`") ?? after.endIndex
                #expect(!after[..<end].contains("--data-dir"), "\(command) has no --data-dir: \(line)")
            }
        }
        #expect(try Self.text("data/README.md").contains("--set data_dir="))
    }
}

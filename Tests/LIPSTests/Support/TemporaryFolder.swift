import Foundation

/// A fresh temporary folder per test, removed by `cleanup()`.
struct TemporaryFolder {
    let url: URL
    var path: String { url.path }

    init(_ tag: String = #function) throws {
        let safe = tag.filter { $0.isLetter || $0.isNumber }
        url = FileManager.default.temporaryDirectory.appendingPathComponent("lips-\(safe)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: url.appendingPathComponent(name))
    }

    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

import Foundation

/// One reference case of `../shared/golden` (format in its README): a manifest and its floats.
struct GoldenCase {
    let name: String
    let op: String
    let attributes: [String: Any]
    let rtol: Double
    let atol: Double
    private let shapes: [String: [Int]]
    private let ranges: [String: Range<Int>]
    private let floats: [Float]

    /// The folder named by `LIPS_GOLDEN_DIR`, or `../shared/golden` beside the package.
    static var directory: URL {
        if let path = ProcessInfo.processInfo.environment["LIPS_GOLDEN_DIR"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        // #filePath is …/Tests/LIPSTests/Support/GoldenCase.swift; the package root is three folders up.
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/golden")
    }

    /// Every `*.json` case in `directory`, sorted by name.
    static func all(in directory: URL = directory) throws -> [GoldenCase] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { try GoldenCase(url: directory.appendingPathComponent($0)) }
    }

    init(url: URL) throws {
        name = url.deletingPathExtension().lastPathComponent
        guard let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
              let op = manifest["op"] as? String,
              let tensors = manifest["tensors"] as? [String: [String: Any]],
              let binName = manifest["bin"] as? String else {
            throw GoldenError("\(url.path): not a golden manifest (op, tensors, bin)")
        }
        self.op = op
        attributes = manifest["attrs"] as? [String: Any] ?? [:]
        let tolerance = manifest["tolerance"] as? [String: Any] ?? [:]
        rtol = (tolerance["rtol"] as? NSNumber)?.doubleValue ?? 0
        atol = (tolerance["atol"] as? NSNumber)?.doubleValue ?? 0
        let data = try Data(contentsOf: url.deletingLastPathComponent().appendingPathComponent(binName))
        var floats = [Float](repeating: 0, count: data.count / 4)
        _ = floats.withUnsafeMutableBytes { data.copyBytes(to: $0) }
        self.floats = floats.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
        var shapes: [String: [Int]] = [:], ranges: [String: Range<Int>] = [:]
        for (key, tensor) in tensors {
            guard let shape = tensor["shape"] as? [Int], let offset = tensor["offset"] as? Int,
                  let count = tensor["count"] as? Int, offset >= 0, offset + count <= floats.count else {
                throw GoldenError("\(name): tensor \(key) has a bad shape/offset/count")
            }
            shapes[key] = shape
            ranges[key] = offset..<(offset + count)
        }
        self.shapes = shapes
        self.ranges = ranges
    }

    var tensorNames: [String] { Array(ranges.keys) }

    func has(_ key: String) -> Bool { ranges[key] != nil }

    func tensor(_ key: String) throws -> [Float] {
        guard let range = ranges[key] else { throw GoldenError("\(name): tensor '\(key)' missing") }
        return Array(floats[range])
    }

    func shape(_ key: String) throws -> [Int] {
        guard let shape = shapes[key] else { throw GoldenError("\(name): tensor '\(key)' missing") }
        return shape
    }

    func int(_ key: String) throws -> Int {
        guard let value = attributes[key] as? NSNumber else { throw GoldenError("\(name): attribute '\(key)' missing") }
        return value.intValue
    }

    func double(_ key: String) throws -> Double {
        guard let value = attributes[key] as? NSNumber else { throw GoldenError("\(name): attribute '\(key)' missing") }
        return value.doubleValue
    }

    func bool(_ key: String, default fallback: Bool = false) -> Bool {
        (attributes[key] as? NSNumber)?.boolValue ?? fallback
    }
}

struct GoldenError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

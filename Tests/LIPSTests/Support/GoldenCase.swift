import Foundation

/// One reference case (format in Tests/Golden/README.md): a manifest and its floats. A tensor is
/// stored (all of it, or every `stride`-th element) or generated from a seed (`generate`).
struct GoldenCase {
    let name: String
    let op: String
    let attributes: [String: Any]
    let rtol: Double
    let atol: Double
    /// PyTorch float32's worst error against the float64 reference, in units of the tolerance
    /// (nil in cases written before it was recorded).
    let float32Error: Double?
    private let shapes: [String: [Int]]
    private let ranges: [String: Range<Int>]
    private let strides: [String: Int]
    private let generators: [String: Generator]
    /// Tensors of 0/1 values stored packed: each stored float holds this many bits (element
    /// j·bits + i is bit i of float j).
    private let packedBits: [String: Int]
    private let floats: [Float]

    /// A generated tensor: Float(offset + scale·u) with u from `GoldenCase.splitmixUniform(seed:count:)`.
    struct Generator {
        let seed: UInt64
        let offset: Double
        let scale: Double
    }

    /// The folder named by `LIPS_GOLDEN_DIR`, or the repository's `Tests/Golden`.
    static var directory: URL {
        if let path = ProcessInfo.processInfo.environment["LIPS_GOLDEN_DIR"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return repositoryDirectory
    }

    /// The repository's own cases, `Tests/Golden` (#filePath is …/Tests/LIPSTests/Support/GoldenCase.swift).
    static var repositoryDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Golden")
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
        float32Error = (manifest["float32_error"] as? NSNumber)?.doubleValue
        let data = try Data(contentsOf: url.deletingLastPathComponent().appendingPathComponent(binName))
        var floats = [Float](repeating: 0, count: data.count / 4)
        _ = floats.withUnsafeMutableBytes { data.copyBytes(to: $0) }
        self.floats = floats.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
        var shapes: [String: [Int]] = [:], ranges: [String: Range<Int>] = [:], strides: [String: Int] = [:]
        var generators: [String: Generator] = [:], packedBits: [String: Int] = [:]
        for (key, tensor) in tensors {
            guard let shape = tensor["shape"] as? [Int], shape.allSatisfy({ $0 >= 0 }) else {
                throw GoldenError("\(name): tensor \(key) has no valid shape")
            }
            shapes[key] = shape
            if let spec = tensor["generate"] as? [String: Any] {
                guard let seed = spec["seed"] as? NSNumber, let offset = spec["offset"] as? NSNumber,
                      let scale = spec["scale"] as? NSNumber else {
                    throw GoldenError("\(name): tensor \(key) has a bad generate entry (seed, offset, scale)")
                }
                generators[key] = Generator(seed: seed.uint64Value, offset: offset.doubleValue, scale: scale.doubleValue)
                continue
            }
            let stride = tensor["stride"] as? Int ?? 1
            var elements = shape.reduce(1, *)
            if let bits = tensor["bits"] as? Int {
                guard (1...24).contains(bits), stride == 1 else {
                    throw GoldenError("\(name): tensor \(key) has bits \(bits) (1…24, not sampled)")
                }
                packedBits[key] = bits
                elements = (elements + bits - 1) / bits
            }
            guard let offset = tensor["offset"] as? Int, let count = tensor["count"] as? Int, stride >= 1,
                  count == (elements + stride - 1) / stride, offset >= 0, offset + count <= floats.count else {
                throw GoldenError("\(name): tensor \(key) has a bad offset/count/stride for shape \(shape)")
            }
            ranges[key] = offset..<(offset + count)
            strides[key] = stride
        }
        self.shapes = shapes
        self.ranges = ranges
        self.strides = strides
        self.generators = generators
        self.packedBits = packedBits
    }

    func has(_ key: String) -> Bool { ranges[key] != nil || generators[key] != nil }

    /// Every tensor key of the case.
    var keys: Set<String> { Set(shapes.keys) }

    /// The tensor's stored floats (every `stride`-th element when sampled), or all of it when generated.
    func tensor(_ key: String) throws -> [Float] {
        if let generator = generators[key] {
            let count = try shape(key).reduce(1, *)
            return GoldenCase.splitmixUniform(seed: generator.seed, count: count).map {
                Float(generator.offset + generator.scale * $0)
            }
        }
        guard let range = ranges[key] else { throw GoldenError("\(name): tensor '\(key)' missing") }
        guard let bits = packedBits[key] else { return Array(floats[range]) }
        let count = try shape(key).reduce(1, *)
        return (0..<count).map { i in
            let word = UInt32(floats[range.lowerBound + i / bits])
            return Float((word >> UInt32(i % bits)) & 1)
        }
    }

    /// The elements of a full tensor `values` that the case stores for `key` (all, or every stride-th).
    func sampled(_ key: String, _ values: [Float]) -> [Float] {
        let stride = strides[key] ?? 1
        return stride == 1 ? values : Swift.stride(from: 0, to: values.count, by: stride).map { values[$0] }
    }

    /// `count` values in [−1, 1), multiples of 2⁻²³: element i is SplitMix64's finaliser of
    /// seed + (i + 1)·γ, top 24 bits (reference/make_golden.py has the same generator).
    static func splitmixUniform(seed: UInt64, count: Int) -> [Double] {
        (0..<count).map { i in
            var z = seed &+ UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(Int64(z >> 40) - (1 << 23)) / Double(1 << 23)
        }
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

import Foundation
import Testing
@testable import LIPS

/// The safetensors reader and writer: round trips, malformed files, and PyTorch's own files
/// (Tests/LIPSTests/Fixtures, written by reference/make_safetensors_fixture.py).
@Suite struct SafetensorsTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static let sample = Safetensors(tensors: [
        .init(name: "b.weight", shape: [2, 3], floats: [1, -0.0, .infinity, .leastNonzeroMagnitude, Float(bitPattern: 0x7fc0_1234), 3.5]),
        .init(name: "a.count", shape: [], int64s: [-7]),
        .init(name: "empty", shape: [0, 4], floats: []),
        .init(name: "quote\"d\\name", shape: [1], floats: [2]),
    ], metadata: ["format": "pt", "note": "line\nbreak"])

    @Test func writeThenReadIsTheIdentity() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try Self.sample.write(to: folder.file("x.safetensors"))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder.file("x.safetensors"))))
        #expect(bytes == Self.sample.encoded())
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(headerLength % 8 == 0)
        let back = try Safetensors.read(from: folder.file("x.safetensors"))
        // The reader orders by data offset, which is the writer's order.
        #expect(back == Self.sample)
        #expect(back.tensor(named: "b.weight")?.floats?.map(\.bitPattern) == Self.sample.tensors[0].floats?.map(\.bitPattern))
        #expect(back.tensor(named: "a.count")?.int64s == [-7])
        #expect(back.encoded() == bytes)
    }

    /// A file with `header` (JSON text) and `data` bytes.
    static func file(_ header: String, data: Int) -> [UInt8] {
        let json = Array(header.utf8)
        return withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) } + json + [UInt8](repeating: 0, count: data)
    }

    @Test(arguments: [
        ([UInt8]([1, 2, 3]), "truncated"),
        (Array(file("{}", data: 0).prefix(9)) + [0], "bad header JSON"),
        ([255, 0, 0, 0, 0, 0, 0, 0] + Array("{}".utf8), "truncated (header length 255"),
        (file("{\"a\":", data: 0), "bad header JSON"),
        (file("[1, 2]", data: 0), "bad header JSON"),
        (file("{\"a\":{\"dtype\":\"Q8\",\"shape\":[1],\"data_offsets\":[0,1]}}", data: 1), "unknown dtype 'Q8'"),
        (file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data: 4), "out of range"),
        (file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data: 8), "overlap"),
        (file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data: 8), "bytes 0..<4 belong to no tensor"),
        (file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data: 8), "trailing"),
        (file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data: 8), "needs 12"),
        (file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", data: 4), "shape"),
        (file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", data: 4), "data_offsets"),
        (file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", data: 8), "out of range"),
        (file("{\"__metadata__\":{\"k\":1}}", data: 0), "__metadata__"),
    ])
    func malformedFilesAreOneLineErrors(bytes: [UInt8], fault: String) {
        expectUserError("bad.safetensors", "not a valid safetensors file", fault) {
            _ = try Safetensors.decode(bytes, source: "bad.safetensors")
        }
    }

    @Test func aMissingFileIsAOneLineError() {
        expectUserError("nowhere.safetensors", "cannot read") { _ = try Safetensors.read(from: "/nonexistent/nowhere.safetensors") }
    }

    /// The fixture's JSON: name → dtype, shape, first values, sum.
    struct Expected: Decodable {
        let dtype: String
        let shape: [Int]
        let first: [Double]
        let sum: Double
    }

    static func expected(_ name: String) throws -> [String: Expected] {
        try JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: fixtures.appendingPathComponent(name + ".json")))
    }

    /// Checks every tensor of `file` against PyTorch's description of it.
    static func check(_ file: Safetensors, against expected: [String: Expected]) {
        #expect(Set(file.tensors.map(\.name)) == Set(expected.keys))
        for tensor in file.tensors {
            guard let want = expected[tensor.name] else { continue }
            #expect(tensor.dtype.rawValue == want.dtype, "\(tensor.name)")
            #expect(tensor.shape == want.shape, "\(tensor.name)")
            let values: [Double] = tensor.floats.map { $0.map(Double.init) } ?? tensor.int64s!.map(Double.init)
            #expect(Array(values.prefix(want.first.count)) == want.first.map { tensor.dtype == .f64 ? Double(Float($0)) : $0 },
                    "\(tensor.name) first values")
            let sum = values.reduce(0, +)
            #expect(abs(sum - want.sum) <= 1e-6 * max(1, abs(want.sum)), "\(tensor.name) sum \(sum) vs \(want.sum)")
        }
    }

    @Test func readsPyTorchsStateDict() throws {
        let file = try Safetensors.read(from: Self.fixtures.appendingPathComponent("cnn10.safetensors").path)
        Self.check(file, against: try Self.expected("cnn10"))
        // Every name, shape and value maps onto the engine's own cnn …
        let model = try Model.named("cnn", classes: 10, input: Shape(channels: 3, height: 32, width: 32))
        let values = try StateDict.values(from: file, source: "cnn10", model: model)
        // … and writing it back gives PyTorch's names, shapes and F32 bytes.
        let written = StateDict.tensors(model: model, parameters: values.parameters, statistics: values.statistics)
        #expect(Set(written.map(\.name)) == Set(file.tensors.map(\.name)))
        for tensor in written {
            let original = try #require(file.tensor(named: tensor.name))
            #expect(tensor.dtype == original.dtype && tensor.shape == original.shape, "\(tensor.name)")
            if tensor.dtype == .f32 { #expect(tensor.bytes == original.bytes, "\(tensor.name)") }
        }
        #expect(written.first { $0.name == "features.0.bn.num_batches_tracked" }?.int64s == [0])
    }

    @Test func readsOtherFloatTypesFromPyTorch() throws {
        let file = try Safetensors.read(from: Self.fixtures.appendingPathComponent("dtypes.safetensors").path)
        Self.check(file, against: try Self.expected("dtypes"))
        #expect(file.tensor(named: "long")?.int64s == [3, -1, 1 << 40])
        #expect(file.tensor(named: "scalar")?.shape == [])
    }

    // MARK: State dict errors (init_from)

    static let model = try! Model.named("cnn", classes: 4, input: Shape(channels: 3, height: 8, width: 8))

    static func stateDict(_ change: (inout [Safetensors.Tensor]) -> Void) -> Safetensors {
        let parameters = model.makeParameters(), statistics = model.makeStatistics()
        model.initialize(parameters: parameters, statistics: statistics, seed: 1)
        var tensors = StateDict.tensors(model: model, parameters: parameters.array, statistics: statistics.array)
        change(&tensors)
        return Safetensors(tensors: tensors)
    }

    @Test func stateDictErrorsNameTheTensor() {
        expectUserError("w.safetensors", "missing tensor 'features.1.bn.running_var'", "[64]") {
            _ = try StateDict.values(from: Self.stateDict { $0.removeAll { $0.name == "features.1.bn.running_var" } },
                                     source: "w.safetensors", model: Self.model)
        }
        expectUserError("tensor 'classifier.weight' has shape [4, 32]", "needs [4, 64]") {
            _ = try StateDict.values(from: Self.stateDict { tensors in
                let i = tensors.firstIndex { $0.name == "classifier.weight" }!
                tensors[i] = .init(name: "classifier.weight", shape: [4, 32], floats: [Float](repeating: 0, count: 128))
            }, source: "w.safetensors", model: Self.model)
        }
        expectUserError("unexpected tensor 'fc.weight'") {
            _ = try StateDict.values(from: Self.stateDict { $0.append(.init(name: "fc.weight", shape: [1], floats: [0])) },
                                     source: "w.safetensors", model: Self.model)
        }
        expectUserError("'features.0.conv.weight' is I64") {
            _ = try StateDict.values(from: Self.stateDict { tensors in
                let i = tensors.firstIndex { $0.name == "features.0.conv.weight" }!
                tensors[i] = .init(name: tensors[i].name, shape: tensors[i].shape, int64s: [Int64](repeating: 0, count: tensors[i].count))
            }, source: "w.safetensors", model: Self.model)
        }
        // num_batches_tracked may be absent (and is ignored when present).
        #expect(throws: Never.self) {
            _ = try StateDict.values(from: Self.stateDict { $0.removeAll { $0.name.hasSuffix("num_batches_tracked") } },
                                     source: "w.safetensors", model: Self.model)
        }
    }
}

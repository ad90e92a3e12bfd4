/// What a tensor of a model's arena is, which decides how training and LIPS treat it.
public enum ParameterKind: String, Sendable, Codable {
    case convWeight, convBias, batchNormWeight, batchNormBias, linearWeight, linearBias
    case runningMean, runningVariance
}

/// One named slice of an arena, named as PyTorch's `state_dict` key (`layers.1.0.shortcut.0.weight`).
public struct ParameterEntry: Sendable, Equatable {
    public let name: String
    /// PyTorch's shape, e.g. [out, in, kh, kw] for a conv weight.
    public let shape: [Int]
    public let offset: Int
    public let count: Int
    public let kind: ParameterKind
    /// Whether LIPS masks it: every conv weight but the stem's (docs/semantics.md §6).
    public let maskable: Bool

    /// The arena indices of this entry.
    public var range: Range<Int> { offset..<(offset + count) }
}

/// The ordered table of slices that parameters, gradients and momentum (or BN statistics) share.
public struct ParameterLayout: Sendable {
    public private(set) var entries: [ParameterEntry] = []
    /// Total floats: the size of every arena with this layout.
    public private(set) var count = 0

    public init() {}

    /// Appends an entry and returns its offset.
    mutating func claim(_ name: String, shape: [Int], kind: ParameterKind, maskable: Bool = false) -> Int {
        precondition(!entries.contains { $0.name == name }, "ParameterLayout: duplicate name \(name)")
        let size = shape.reduce(1, *)
        entries.append(ParameterEntry(name: name, shape: shape, offset: count, count: size, kind: kind, maskable: maskable))
        count += size
        return count - size
    }

    /// The entry named `name`, if any.
    public func entry(named name: String) -> ParameterEntry? {
        entries.first { $0.name == name }
    }

    /// The entries LIPS may mask.
    public var maskableEntries: [ParameterEntry] { entries.filter(\.maskable) }
}

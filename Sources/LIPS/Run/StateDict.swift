/// A model's weights as PyTorch's `state_dict`: the same names and shapes (conv [out, in, kh, kw],
/// linear [out, in]; the layouts already use PyTorch's names), F32 values, and for every
/// BatchNorm module `NAME.num_batches_tracked`, an I64 scalar that PyTorch's strict
/// `load_state_dict` requires. The engine's BN uses a fixed momentum (0.1), so it keeps no batch
/// count: the exporter writes 0, and the importer ignores the value.
///
/// Order, as `state_dict()`: parameters in layout order, each BN module's `running_mean`,
/// `running_var` and `num_batches_tracked` right after its `bias`.
public enum StateDict {
    /// The BN modules of `model` ("layers.0.1"), from its `running_mean` entries.
    static func batchNormModules(_ model: Model) -> [String] {
        model.statisticsLayout.entries.filter { $0.kind == .runningMean }.map { String($0.name.dropLast(".running_mean".count)) }
    }

    /// The tensors of a model's weights, in `state_dict` order.
    public static func tensors(model: Model, parameters: [Float], statistics: [Float]) -> [Safetensors.Tensor] {
        precondition(parameters.count == model.parameterLayout.count && statistics.count == model.statisticsLayout.count,
                     "StateDict: \(parameters.count)/\(statistics.count) values for layouts of \(model.parameterLayout.count)/\(model.statisticsLayout.count)")
        var result: [Safetensors.Tensor] = []
        var pending = model.statisticsLayout.entries
        for entry in model.parameterLayout.entries {
            result.append(.init(name: entry.name, shape: entry.shape, floats: Array(parameters[entry.range])))
            guard entry.kind == .batchNormBias else { continue }
            let module = String(entry.name.dropLast(".bias".count))
            for statistic in pending where statistic.name.hasPrefix(module + ".") {
                result.append(.init(name: statistic.name, shape: statistic.shape, floats: Array(statistics[statistic.range])))
            }
            pending.removeAll { $0.name.hasPrefix(module + ".") }
            result.append(.init(name: module + ".num_batches_tracked", shape: [], int64s: [0]))
        }
        for statistic in pending {
            result.append(.init(name: statistic.name, shape: statistic.shape, floats: Array(statistics[statistic.range])))
        }
        return result
    }

    /// The parameter and statistics arenas' values from `file` (`source` names it in errors).
    /// Every parameter and statistic must be present with its shape and a float dtype (F32, or
    /// F16/BF16/F64, converted); `num_batches_tracked` may be present or not and is ignored; any
    /// other tensor is an error, as in PyTorch's strict `load_state_dict`. Errors name the first
    /// offending tensor in `state_dict` order (unexpected ones: in file order).
    public static func values(from file: Safetensors, source: String, model: Model) throws -> (parameters: [Float], statistics: [Float]) {
        var byName: [String: Safetensors.Tensor] = [:]
        for tensor in file.tensors { byName[tensor.name] = tensor }
        let counters = Set(batchNormModules(model).map { $0 + ".num_batches_tracked" })
        func fill(_ layout: ParameterLayout) throws -> [Float] {
            var values = [Float](repeating: 0, count: layout.count)
            for entry in layout.entries {
                guard let tensor = byName[entry.name] else {
                    throw UserError("\(source): missing tensor '\(entry.name)' (\(model.name) needs shape \(entry.shape))")
                }
                guard tensor.shape == entry.shape else {
                    throw UserError("\(source): tensor '\(entry.name)' has shape \(tensor.shape), \(model.name) needs \(entry.shape)")
                }
                guard let floats = tensor.floats else {
                    throw UserError("\(source): tensor '\(entry.name)' is \(tensor.dtype.rawValue), expected a float type (F32, F16, BF16, F64)")
                }
                values.replaceSubrange(entry.range, with: floats)
            }
            return values
        }
        let parameters = try fill(model.parameterLayout)
        let statistics = try fill(model.statisticsLayout)
        let known = Set(model.parameterLayout.entries.map(\.name) + model.statisticsLayout.entries.map(\.name))
        if let extra = file.tensors.first(where: { !known.contains($0.name) && !counters.contains($0.name) }) {
            throw UserError("\(source): unexpected tensor '\(extra.name)' (not a \(model.name) parameter or BN statistic)")
        }
        return (parameters, statistics)
    }
}

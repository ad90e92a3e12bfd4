import Foundation
import Yams

extension SweepPlan {
    /// The sweep a YAML text describes (see `SweepPlan`): `base` (optional `preset: NAME`, applied
    /// first, then every other key in file order) and `grid` (key → list of values). `source`
    /// names the text in errors.
    ///
    /// Throws a one-line `UserError` naming the source and line: not YAML, an unknown section,
    /// an unknown or ill-typed key in base or grid (with the nearest known key), a grid value that
    /// is not a list, an empty list, a run that does not validate, or more than `maximumRuns` runs.
    ///
    /// `settings` are `lips sweep --set key=value` overrides, applied to the base after its own
    /// keys, so they become part of every run's config (and of its `config.yaml`): the sweep stays
    /// reproducible from its runs. A setting on a grid key is refused: the grid decides that key.
    public static func load(yaml text: String, source: String, settings: [String] = [],
                            maximumRuns: Int = SweepPlan.maximumRuns) throws -> SweepPlan {
        let root = try composeYAML(text, source: source)
        guard let mapping = root?.mapping else {
            throw UserError("\(source): expected a sweep: a mapping with 'base:' (a run config) and 'grid:' (key → list of values)")
        }
        func place(_ node: Node) -> String { node.mark.map { "\(source):\($0.line)" } ?? source }
        var baseNode: Node?, gridNode: Node?
        for (keyNode, valueNode) in mapping {
            switch keyNode.string {
            case "base": baseNode = valueNode
            case "grid": gridNode = valueNode
            default:
                throw UserError("\(place(keyNode)): unknown section '\(keyNode.string ?? "?")' (a sweep has 'base:' and 'grid:')")
            }
        }

        var base = ExperimentConfig()
        func isNull(_ node: Node) -> Bool { Constructor.default.any(from: node) is NSNull }
        if let baseNode, !isNull(baseNode) {
            guard let entries = baseNode.mapping else {
                throw UserError("\(place(baseNode)): 'base' must be a mapping of config keys, e.g. base: {preset: fmnist-resnet8-lips, rounds: 3}")
            }
            if let preset = entries.first(where: { $0.key.string == "preset" }) {
                guard let name = preset.value.string else {
                    throw UserError("\(place(preset.key)): 'preset' must be a preset name")
                }
                do {
                    base = try Presets.config(named: name)
                } catch let error as UserError {
                    throw UserError("\(place(preset.key)): \(error.message)")
                }
            }
            for (keyNode, valueNode) in entries where keyNode.string != "preset" {
                guard let key = keyNode.string else { throw UserError("\(place(keyNode)): keys must be plain names") }
                try base.set(key, to: Constructor.default.any(from: valueNode), source: place(keyNode))
            }
        }

        var grid: [(key: String, values: [Any?])] = []
        var places: [String: String] = [:]
        if let gridNode, !isNull(gridNode) {
            guard let entries = gridNode.mapping else {
                throw UserError("\(place(gridNode)): 'grid' must map config keys to lists of values, e.g. seed: [2, 3]")
            }
            for (keyNode, valueNode) in entries {
                guard let key = keyNode.string else { throw UserError("\(place(keyNode)): keys must be plain names") }
                let at = place(keyNode)
                guard ExperimentConfig.keyNames.contains(key) else {
                    let hint = ExperimentConfig.nearestKey(to: key).map { " (did you mean '\($0)'?)" } ?? ""
                    throw UserError("\(at): unknown key '\(key)'\(hint)")
                }
                guard let list = valueNode.sequence else {
                    throw UserError("\(at): grid '\(key)' must be a list of values, e.g. \(key): [a, b]; found '\(ConfigValue.describe(Constructor.default.any(from: valueNode)))'")
                }
                grid.append((key, list.map { Constructor.default.any(from: $0) }))
                places[key] = at
            }
        }
        for setting in settings {
            let key = setting.split(separator: "=", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            if let at = places[key] {
                throw UserError("--set \(setting): '\(key)' is a grid key of the sweep (\(at)); change its values in the grid instead")
            }
            try base.apply(setting: setting)
        }
        var plan = try SweepPlan(source: source, base: base, grid: grid, place: { places[$0] ?? source }, maximumRuns: maximumRuns)
        plan.overrides = settings
        return plan
    }

    /// The sweep in the YAML file at `path` (see `load(yaml:source:settings:)`).
    public static func load(file path: String, settings: [String] = []) throws -> SweepPlan {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw UserError("\(path): sweep file not found")
        }
        guard !isDirectory.boolValue else { throw UserError("\(path): is a folder, expected a YAML sweep file") }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw UserError("\(path): sweep file not readable as UTF-8 text")
        }
        return try load(yaml: text, source: path, settings: settings)
    }
}

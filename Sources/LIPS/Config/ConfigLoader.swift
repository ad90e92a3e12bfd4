import Foundation
import Yams

extension ExperimentConfig {
    /// The config a YAML mapping describes: the defaults, or the preset its `preset: NAME` key
    /// names (applied first, wherever the key stands, as in a sweep's `base`), then each other key
    /// of `text` in file order. `source` names the text in errors (a file path, "preset NAME").
    ///
    /// Throws a one-line `UserError` naming the source, line and key for text that is not YAML,
    /// not a mapping, an unknown key (with the nearest known one) or preset, or a value of the wrong type.
    public static func load(yaml text: String, source: String) throws -> ExperimentConfig {
        let root = try composeYAML(text, source: source)
        var config = ExperimentConfig()
        guard let root else { return config }  // empty file or only comments: the defaults
        guard let mapping = root.mapping else {
            throw UserError("\(source): expected a mapping of keys to values, e.g. 'rounds: 30'")
        }
        if let preset = mapping.first(where: { $0.key.string == "preset" }) {
            let place = preset.key.mark.map { "\(source):\($0.line)" } ?? source
            guard let name = preset.value.string else { throw UserError("\(place): 'preset' must be a preset name") }
            do {
                config = try Presets.config(named: name)
            } catch let error as UserError {
                throw UserError("\(place): \(error.message)")
            }
        }
        for (keyNode, valueNode) in mapping where keyNode.string != "preset" {
            let place = keyNode.mark.map { "\(source):\($0.line)" } ?? source
            guard let key = keyNode.string else {
                throw UserError("\(place): keys must be plain names, found '\(ConfigValue.describe(Constructor.default.any(from: keyNode)))'")
            }
            try config.set(key, to: Constructor.default.any(from: valueNode), source: place)
        }
        return config
    }

    /// The config in the YAML file at `path` (see `load(yaml:source:)`).
    public static func load(file path: String) throws -> ExperimentConfig {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw UserError("\(path): config file not found")
        }
        guard !isDirectory.boolValue else { throw UserError("\(path): is a folder, expected a YAML config file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UserError("\(path): config file not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw UserError("\(path): not UTF-8 text") }
        return try load(yaml: text, source: path)
    }

    /// Sets `key` to a parsed YAML value (what `Yams.load` returns: Int, Double, Bool, String,
    /// [Any], NSNull or nil for null). Files, `--set` and sweep grids all go through here.
    ///
    /// Throws a `UserError` "SOURCE: unknown key 'K' (did you mean 'L'?)" or
    /// "SOURCE: 'K' must be EXPECTED, found 'V'". Values are checked for type only; ranges are
    /// `validate()`'s job, once every key is set.
    public mutating func set(_ key: String, to value: Any?, source: String) throws {
        guard let entry = ExperimentConfig.keys.first(where: { $0.name == key }) else {
            let hint = ExperimentConfig.nearestKey(to: key).map { " (did you mean '\($0)'?)" } ?? ""
            throw UserError("\(source): unknown key '\(key)'\(hint)")
        }
        do {
            try entry.read(&self, ConfigValue(value))
        } catch let mismatch as ConfigValue.Mismatch {
            throw UserError("\(source): '\(key)' must be \(mismatch.expected), found '\(ConfigValue.describe(value))'")
        }
    }

    /// Applies one `key=value` override (the CLI's `--set`). The value is read as YAML: `3`,
    /// `0.5`, `true`, `null`, `lips`, `[0.5, 0.5, 0.5]`; text YAML cannot parse is taken as a string.
    public mutating func apply(setting: String) throws {
        guard let equals = setting.firstIndex(of: "=") else {
            throw UserError("--set '\(setting)': expected key=value, e.g. --set rounds=10")
        }
        let key = setting[..<equals].trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty else { throw UserError("--set '\(setting)': expected key=value, e.g. --set rounds=10") }
        let text = String(setting[setting.index(after: equals)...])
        var value: Any? = nil
        try YAMLLimits.check(text, source: "--set")
        if let parsed = try? Yams.load(yaml: text) {
            value = parsed
        } else if !text.trimmingCharacters(in: .whitespaces).isEmpty {
            value = text  // not YAML (e.g. an unbalanced quote): the text itself
        }
        try set(key, to: value, source: "--set")
    }
}

/// The YAML node tree of `text`, or a one-line `UserError` naming `source` (a config or sweep file);
/// text whose aliases expand it far beyond its size, or with a list or mapping as a mapping key, is
/// refused before Yams builds it (`YAMLLimits`).
func composeYAML(_ text: String, source: String) throws -> Node? {
    try YAMLLimits.check(text, source: source)
    do {
        return try Yams.compose(yaml: text)
    } catch {
        let reason = "\(error)".split(separator: "\n").first.map(String.init) ?? "unreadable"
        throw UserError("\(source): not valid YAML (\(reason))")
    }
}

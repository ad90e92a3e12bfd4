import Foundation
import Yams

extension ExperimentConfig {
    /// The config of a YAML mapping: SPEC's defaults, then each key of `text`. `source` names the
    /// text in errors (a file path, `--set`).
    public static func load(yaml text: String, source: String) throws -> ExperimentConfig {
        let parsed: Any?
        do {
            parsed = try Yams.load(yaml: text)
        } catch {
            let reason = "\(error)".split(separator: "\n").first.map(String.init) ?? "not YAML"
            throw UserError("\(source): not valid YAML (\(reason))")
        }
        var config = ExperimentConfig()
        guard let parsed else { return config }
        guard let mapping = parsed as? [String: Any?] ?? (parsed as? [String: Any]).map({ $0.mapValues { Optional($0) } }) else {
            throw UserError("\(source): expected a mapping of keys to values, e.g. 'rounds: 30'")
        }
        for key in mapping.keys.sorted() {
            try config.set(key, to: mapping[key] ?? nil, source: source)
        }
        return config
    }

    /// The config in the YAML file at `path`.
    public static func load(file path: String) throws -> ExperimentConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UserError("\(path): config file not found or not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw UserError("\(path): not UTF-8 text") }
        return try load(yaml: text, source: path)
    }

    /// Sets `key` to a parsed YAML value (what `Yams.load` returns). Used by files, `--set` and
    /// sweep grids alike.
    public mutating func set(_ key: String, to value: Any?, source: String) throws {
        guard let entry = ExperimentConfig.keys.first(where: { $0.name == key }) else {
            let hint = ExperimentConfig.nearestKey(to: key).map { " (did you mean '\($0)'?)" } ?? ""
            throw UserError("\(source): unknown key '\(key)'\(hint)")
        }
        do {
            try entry.read(&self, ConfigValue(raw: value))
        } catch let mismatch as ConfigValue.Mismatch {
            throw UserError("\(source): '\(key)' must be \(mismatch.expected), found '\(ExperimentConfig.describe(value))'")
        }
    }

    /// Applies one `key=value` override; the value is read as YAML (`3`, `0.5`, `true`, `null`, `[0.5, 0.5]`).
    public mutating func apply(setting: String) throws {
        guard let equals = setting.firstIndex(of: "="), equals != setting.startIndex else {
            throw UserError("--set '\(setting)': expected key=value, e.g. --set rounds=10")
        }
        let key = String(setting[..<equals]).trimmingCharacters(in: .whitespaces)
        let text = String(setting[setting.index(after: equals)...])
        let value: Any?
        do {
            value = try Yams.load(yaml: text)
        } catch {
            value = text
        }
        try set(key, to: value, source: "--set \(key)")
    }

    /// The resolved config as YAML: every key, in table order, with its meaning as a comment.
    public func yaml() -> String {
        var text = "# lips experiment config (every key; see `lips run --help`)\n"
        for key in ExperimentConfig.keys {
            text += "\(key.name): \(key.write(self))".padding(toLength: 40, withPad: " ", startingAt: 0) + " # \(key.help)\n"
        }
        return text
    }

    /// The keys that determine results, one `key: value` per line: two configs with equal
    /// identities produce the same run.
    public func identity() -> String {
        ExperimentConfig.keys.filter { !$0.isRuntime }.map { "\($0.name): \($0.write(self))" }.joined(separator: "\n")
    }

    /// A key's value as YAML text (e.g. for naming sweep folders), or nil for an unknown key.
    public func value(forKey key: String) -> String? {
        ExperimentConfig.keys.first { $0.name == key }?.write(self)
    }

    /// The YAML key names, in table order.
    public static var keyNames: [String] { keys.map(\.name) }

    static func describe(_ value: Any?) -> String {
        guard let value, !(value is NSNull) else { return "null" }
        if let list = value as? [Any?] { return "[" + list.map { describe($0) }.joined(separator: ", ") + "]" }
        return "\(value)"
    }

    /// The known key closest to `key` by edit distance, when close enough to be a likely typo.
    static func nearestKey(to key: String) -> String? {
        func distance(_ a: String, _ b: String) -> Int {
            let a = Array(a), b = Array(b)
            var row = Array(0...b.count)
            for i in 1...max(a.count, 1) where !a.isEmpty {
                var previous = row[0]
                row[0] = i
                for j in stride(from: 1, through: b.count, by: 1) {
                    let current = row[j]
                    row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                    previous = current
                }
            }
            return row[b.count]
        }
        let lowered = key.lowercased().replacingOccurrences(of: "-", with: "_")
        let aliases = ["learning_rate": "lr", "lr_rate": "lr", "epochs": "local_epochs", "batch": "batch_size",
                       "num_clients": "clients", "density": "update_d", "frequency": "update_freq", "threads": "workers"]
        if let alias = aliases[lowered] { return alias }
        let best = keys.map { ($0.name, distance(lowered, $0.name)) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= max(2, key.count / 3) || best.0.contains(lowered) || lowered.contains(best.0) else { return nil }
        return best.0
    }
}

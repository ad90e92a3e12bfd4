import Foundation

extension ExperimentConfig {
    /// The YAML key names, in table order.
    public static var keyNames: [String] { keys.map(\.name) }

    /// The resolved config as YAML: a comment header, then every key in table order with its
    /// meaning as a comment. `load(yaml: yaml(), source:)` gives back an equal config.
    public func yaml() -> String {
        var text = "# lips experiment config: every key, resolved (`lips run --config FILE`; README.md explains each)\n"
        for key in ExperimentConfig.keys {
            let line = "\(key.name): \(key.write(self))"
            // Padded by hand: Foundation's padding(toLength:) counts UTF-16 units, so with
            // line.count (characters) as the length it cut values holding combining marks or emoji.
            text += line + String(repeating: " ", count: max(0, 40 - line.count)) + " # \(key.help)\n"
        }
        return text
    }

    /// The keys that determine results, one `key: value` line each, in table order and without
    /// the runtime keys (`workers`, `checkpoint_every`, `save_global_every`): two configs with equal identities make
    /// the same run, so a run folder may be resumed with either.
    public func identity() -> String {
        let defaults = ExperimentConfig()
        return ExperimentConfig.keys
            .filter { !$0.isRuntime && !($0.identityOmitsDefault && $0.write(self) == $0.write(defaults)) }
            .map { "\($0.name): \($0.write(self))" }.joined(separator: "\n")
    }

    /// A key's value as YAML text (`0.5`, `lips`, `[0.5, 0.5]`, `null`), e.g. for naming sweep
    /// folders; nil for an unknown key.
    public func value(forKey key: String) -> String? {
        ExperimentConfig.keys.first { $0.name == key }?.write(self)
    }
}

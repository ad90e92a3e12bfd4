import Foundation
import Yams

/// A parsed YAML value (what `Yams.load` gives: Int, Double, Bool, String, [Any], NSNull) with
/// typed readers that throw what they expected, and the writers that turn config values back
/// into YAML text that reads back equal.
struct ConfigValue {
    /// nil for YAML null (`null`, `~`, nothing).
    let raw: Any?

    init(_ raw: Any?) {
        self.raw = raw is NSNull ? nil : raw
    }

    /// The value did not have the type a key needs; `expected` reads "must be <expected>".
    struct Mismatch: Error { let expected: String }

    func int() throws -> Int {
        if let value = raw as? Int { return value }
        if let text = raw as? String, let value = Int(text) { return value }
        throw Mismatch(expected: "an integer")
    }

    func unsigned() throws -> UInt64 {
        if let value = raw as? Int, value >= 0 { return UInt64(value) }
        // Yams gives integers beyond Int.max as text.
        if let text = raw as? String, let value = UInt64(text) { return value }
        throw Mismatch(expected: "a non-negative integer")
    }

    func double() throws -> Double {
        if let value = raw as? Double { return value }
        if let value = raw as? Int { return Double(value) }
        if let text = raw as? String, let value = Double(text) { return value }
        throw Mismatch(expected: "a number")
    }

    func bool() throws -> Bool {
        if let value = raw as? Bool { return value }
        throw Mismatch(expected: "true or false")
    }

    func string() throws -> String {
        if let value = raw as? String { return value }
        if let value = raw as? Int { return String(value) }
        if let value = raw as? Double { return String(value) }
        throw Mismatch(expected: "a string")
    }

    func optionalString() throws -> String? { raw == nil ? nil : try string() }
    func optionalInt() throws -> Int? {
        do { return raw == nil ? nil : try int() } catch { throw Mismatch(expected: "an integer or null") }
    }

    func doubles() throws -> [Double] {
        let expected = "a list of numbers, e.g. [0.5, 0.5, 0.5]"
        guard let items = raw as? [Any] else { throw Mismatch(expected: expected) }
        return try items.map { item in
            do { return try ConfigValue(item).double() } catch { throw Mismatch(expected: expected) }
        }
    }

    func choice<E: RawRepresentable & CaseIterable>(_: E.Type) throws -> E where E.RawValue == String {
        if let text = raw as? String, let value = E(rawValue: text.lowercased()) { return value }
        throw Mismatch(expected: "one of " + E.allCases.map(\.rawValue).joined(separator: ", "))
    }

    /// The value as the user wrote it, for "found ..." in errors.
    static func describe(_ value: Any?) -> String {
        guard let value, !(value is NSNull) else { return "null" }
        if let list = value as? [Any] { return "[" + list.map { describe($0) }.joined(separator: ", ") + "]" }
        if let map = value as? [AnyHashable: Any] {
            return "{" + map.map { "\($0.key.base): \(describe($0.value))" }.sorted().joined(separator: ", ") + "}"
        }
        return "\(value)"
    }
}

/// YAML text of config values, as `ExperimentConfig.yaml()` writes them. Each reads back equal.
enum YAMLText {
    /// Swift's shortest round-trip form ("0.1", "1e-05", "15.0").
    static func number(_ value: Double) -> String { "\(value)" }

    static func numbers(_ values: [Double]) -> String { "[" + values.map(number).joined(separator: ", ") + "]" }

    /// Plain when YAML reads it back as the same string; otherwise double-quoted and escaped.
    static func string(_ value: String?) -> String {
        guard let value else { return "null" }
        let safe = !value.isEmpty && value.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) }
        if safe, let back = try? Yams.load(yaml: value) as? String, back == value { return value }
        return doubleQuoted(value)
    }
}

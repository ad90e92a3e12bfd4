import Foundation

/// The machine a process runs on, as a run's provenance records it: host name and processor.
/// Read once from the system; nothing here feeds a result.
public enum HostDescription {
    /// The host name (`gethostname`), or "unknown".
    public static var name: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "unknown" : name
    }

    /// `/proc/cpuinfo`, or "" where there is none (macOS).
    public static var cpuinfo: String { (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "" }

    /// The first processor's "model name" line of `cpuinfo`, or "unknown".
    public static func processorModel(cpuinfo: String) -> String {
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("model name") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return "unknown"
    }
}

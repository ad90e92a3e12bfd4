import Foundation

/// The memory this process may use: the machine's, or less when a control group caps it (a Slurm
/// job's `--mem`, a container's limit), read from cgroup v2 (`memory.max`) or v1
/// (`memory.limit_in_bytes`) of this process's group.
public enum MemoryLimit {
    public static var bytes: UInt64 {
        let physical = ProcessInfo.processInfo.physicalMemory
        return min(physical, cgroupLimit() ?? physical)
    }

    static func cgroupLimit() -> UInt64? {
        guard let membership = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        var limits: [UInt64] = []
        for line in membership.split(separator: "\n") {
            // "0::/path" (v2) or "N:memory:/path" (v1)
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let group = String(fields[2])
            let candidates: [String]
            if fields[1].isEmpty {
                candidates = ["/sys/fs/cgroup\(group)/memory.max"]
            } else if fields[1].split(separator: ",").contains("memory") {
                candidates = ["/sys/fs/cgroup/memory\(group)/memory.limit_in_bytes"]
            } else {
                continue
            }
            for path in candidates {
                if let text = try? String(contentsOfFile: path, encoding: .utf8),
                   let value = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                    limits.append(value)
                }
            }
        }
        return limits.min()
    }
}

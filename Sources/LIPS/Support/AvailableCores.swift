import Foundation

/// The cores this process may run on: on Linux the CPUs in its affinity mask, which is what
/// `taskset`, Slurm's `--cpus-per-task` (cpuset cgroups) and `numactl` restrict and what
/// `ProcessInfo.activeProcessorCount` ignores (it counts every online CPU). Sizing workers or BLAS
/// threads past the mask puts two busy threads on one core.
public enum AvailableCores {
    /// At least 1; the online-CPU count where no mask can be read.
    public static let count: Int = {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }),
           let cores = countCPUs(inList: line.dropFirst("Cpus_allowed_list:".count)), cores > 0 {
            return cores
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// CPUs in a kernel CPU list such as "0-3,8,10-11" (nil when it does not parse).
    static func countCPUs(inList list: Substring) -> Int? {
        var total = 0
        for part in list.split(separator: ",") {
            let bounds = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            switch bounds.count {
            case 1: guard bounds[0] != nil else { return nil }; total += 1
            case 2: guard let low = bounds[0], let high = bounds[1], high >= low else { return nil }; total += high - low + 1
            default: return nil
            }
        }
        return total
    }
}

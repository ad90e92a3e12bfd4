import CBLAS
import Foundation

/// Which of OpenBLAS's kernel families does the FLOPs, and the fix for a processor it does not know.
///
/// A DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernels once, when the library loads, from the
/// processor's model number. A model newer than the library falls back to the generic "Prescott"
/// kernels (SSE3, no FMA): Debian 12's OpenBLAS 0.3.21 does this on Sapphire Rapids, where SGEMM
/// then runs 4–6 × slower than with its AVX-512 kernels. The choice cannot be changed after
/// loading, so `lips` re-executes itself once with `OPENBLAS_CORETYPE` naming the kernels the
/// processor's instruction set supports, unless the variable is already set.
public enum BLASKernel {
    /// The kernel family OpenBLAS chose ("SkylakeX", "Haswell", "Zen", "Prescott", …).
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's build description ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64"):
    /// its version, build options and the kernels chosen, for a run's provenance.
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// Whether `coreName` names AVX-512 kernels (what a run's provenance reports as AVX-512 used).
    public static func usesAVX512(coreName: String) -> Bool {
        ["skylakex", "cooperlake", "sapphirerapids"].contains(coreName.lowercased())
    }

    /// Kernel families that use AVX2 and FMA (the ones OpenBLAS 0.3.x has for x86-64 servers).
    static let wideCores: Set = ["haswell", "excavator", "zen", "skylakex", "cooperlake", "sapphirerapids"]

    /// The `OPENBLAS_CORETYPE` to ask for when OpenBLAS chose `coreName` on a processor with the
    /// `/proc/cpuinfo` `flags`, or nil when its choice already uses AVX2 (or the processor has
    /// neither AVX2 nor AVX-512). A recognised family is never overridden.
    /// `flags` is read only when the family is not recognised, so a known processor costs no file read.
    static func betterCore(than coreName: String, flags readFlags: @autoclosure () -> Set<String>) -> String? {
        guard !wideCores.contains(coreName.lowercased()) else { return nil }
        let flags = readFlags()
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"].allSatisfy(flags.contains) { return "SKYLAKEX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "HASWELL" }
        return nil
    }

    /// The instruction-set flags of the first processor in `/proc/cpuinfo` (empty where there is none).
    public static func processorFlags(cpuinfo: String) -> Set<String> {
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    /// Re-executes the running program with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to
    /// kernels far below the processor's (see the type's comment). Returns when nothing needs
    /// doing, or when re-executing fails (the program then simply runs on the slower kernels).
    public static func reexecutingIfMisdetected() {
        #if os(Linux)
        guard getenv("OPENBLAS_CORETYPE") == nil,
              let better = betterCore(than: coreName, flags: processorFlags(
                  cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")) else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        // The original argv bytes, not CommandLine.arguments (which repairs invalid UTF-8).
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when execv failed: go on with the kernels already loaded.
        unsetenv("OPENBLAS_CORETYPE")
        #endif
    }
}

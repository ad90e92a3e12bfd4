import Testing
@testable import LIPS

/// The kernel override of `BLASKernel`: only a generic fallback on a processor with AVX2 or
/// AVX-512 is replaced, never a family OpenBLAS recognised.
@Suite struct BLASKernelTests {
    static let sapphireRapids: Set = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd",
                                      "avx512_fp16", "amx_tile"]
    static let zen3: Set = ["sse4_2", "avx", "avx2", "fma"]

    @Test func aGenericFallbackOnANewerProcessorIsReplaced() {
        #expect(BLASKernel.betterCore(than: "Prescott", flags: Self.sapphireRapids) == "SKYLAKEX")
        #expect(BLASKernel.betterCore(than: "Nehalem", flags: Self.zen3) == "HASWELL")
        #expect(BLASKernel.betterCore(than: "Sandybridge", flags: Self.sapphireRapids) == "SKYLAKEX")
    }

    @Test func aRecognisedFamilyOrAnOldProcessorIsLeftAlone() {
        for core in ["SkylakeX", "Haswell", "Zen", "Cooperlake", "SapphireRapids"] {
            #expect(BLASKernel.betterCore(than: core, flags: Self.sapphireRapids) == nil, "\(core)")
        }
        #expect(BLASKernel.betterCore(than: "Prescott", flags: ["sse3", "avx"]) == nil)
        #expect(BLASKernel.betterCore(than: "Prescott", flags: []) == nil)
    }

    @Test func flagsComeFromTheFirstFlagsLine() {
        let cpuinfo = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu sse2 avx2 fma\nbugs\t\t: spectre\nflags\t\t: other\n"
        #expect(BLASKernel.processorFlags(cpuinfo: cpuinfo) == ["fpu", "sse2", "avx2", "fma"])
        #expect(BLASKernel.processorFlags(cpuinfo: "processor\t: 0\n").isEmpty)
    }
}

import FuzzTargets

/// libFuzzer calls this once per input; a trap (crash) or a leak fails the run.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.png(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

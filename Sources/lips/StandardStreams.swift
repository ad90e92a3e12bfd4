import Foundation

extension FileHandle {
    /// Writes `data`, dropping it if the stream is gone (a closed pipe: `lips run … | tee log` after
    /// tee has died). A progress line or a note is never a reason to stop; SIGPIPE is ignored
    /// (`LIPSCommand.main`) so that such a write fails here instead of killing the process.
    func writeIgnoringErrors(_ data: Data) {
        try? write(contentsOf: data)
    }
}

/// The exit status of a run or sweep stopped by SIGINT/SIGTERM after saving its checkpoint:
/// EX_TEMPFAIL from sysexits.h, so schedulers can tell "resume me" from a failure (2, or 128 + N
/// for a second signal).
let stoppedWithCheckpointStatus: Int32 = 75

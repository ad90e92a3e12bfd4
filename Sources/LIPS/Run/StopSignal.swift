import Foundation
import Synchronization

/// Counts SIGINT/SIGTERM: 0 none, 1 finish the round and save, 2 quit at once.
private let stopRequests = Atomic<Int>(0)

/// Graceful interruption: the first Ctrl-C (or SIGTERM, as batch schedulers send before killing a
/// job) asks the run loop to stop after the current round and save a checkpoint; a second one
/// quits at once (the last checkpoint stays valid, so nothing already saved is lost).
public enum StopSignal {
    /// Installs the handlers (idempotent).
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            let count = stopRequests.add(1, ordering: .relaxed).newValue
            if count >= 2 { _exit(130) }
            let message = "\nlips: finishing the current round, then saving a checkpoint; press Ctrl-C again to stop at once\n"
            message.utf8CString.withUnsafeBufferPointer { _ = Foundation.write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    /// Whether a stop was asked for.
    public static var requested: Bool { stopRequests.load(ordering: .relaxed) > 0 }

    /// Asks for a stop as a signal would (tests, embedding programs).
    public static func request() { stopRequests.add(1, ordering: .relaxed) }

    /// Clears the request (tests).
    public static func reset() { stopRequests.store(0, ordering: .relaxed) }
}

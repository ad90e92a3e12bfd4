import Foundation

/// SIGINT/SIGTERM seen so far: 1 finish the round and save, 2 quit at once.
///
/// Plain `Int32`s, written by the signal handler (or `request`/`reset`) and read by the run loop
/// between rounds: C's `volatile sig_atomic_t` pattern. `Synchronization.Atomic` would say this in
/// the type, but needs macOS 15 and the package supports macOS 13; an aligned 32-bit load or
/// store is single-copy atomic on every supported CPU, and the loop reads it through a
/// non-inlined accessor after each round, so a stale value lasts at most one round.
private nonisolated(unsafe) var signalsSeen: Int32 = 0

/// 1 after `request()`: kept apart from `signalsSeen`, so a programmatic stop followed by one
/// Ctrl-C still finishes the round instead of exiting.
private nonisolated(unsafe) var stopRequested: Int32 = 0

/// Handlers in place before `install`, restored by `uninstall`.
private nonisolated(unsafe) var previousHandlers: [(signal: Int32, handler: StopSignal.Handler?)] = []

/// Graceful interruption: the first Ctrl-C (or SIGTERM, which batch schedulers send before
/// killing a job) asks the run loop to stop after the current round and save a checkpoint (the CLI
/// then exits with status 75); a second one exits at once with status 128 + signal (130 for Ctrl-C). Nothing is lost either
/// way: checkpoints are written atomically, so the last one stays valid.
public enum StopSignal {
    /// A C signal handler.
    public typealias Handler = @convention(c) (Int32) -> Void

    /// Installs the SIGINT and SIGTERM handlers (a second call does nothing). Call from the main
    /// thread before the run starts.
    public static func install() {
        guard previousHandlers.isEmpty else { return }
        // Touch the counter here, so its lazy global initialisation never runs inside the handler.
        _ = signalsSeen
        // Async-signal-safe only: a global store, write(2) of a static string, _exit(2).
        // No allocation, no locks, no captures.
        let handler: Handler = { signalNumber in
            signalsSeen &+= 1
            if signalsSeen >= 2 { _exit(128 + signalNumber) }
            let message: StaticString = "\nlips: finishing the current round, then saving a checkpoint; press Ctrl-C again to stop at once\n"
            _ = write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
        }
        for number in [SIGINT, SIGTERM] {
            previousHandlers.append((signal: number, handler: signal(number, handler)))
        }
    }

    /// Puts back the handlers that were in place before `install` (tests, embedding programs).
    public static func uninstall() {
        for previous in previousHandlers { _ = signal(previous.signal, previous.handler) }
        previousHandlers = []
    }

    /// Whether a stop was asked for (by a signal or by `request`).
    public static var requested: Bool { signalsSeen > 0 || stopRequested > 0 }

    /// Asks for a stop as a first signal would, without one (tests, embedding programs).
    public static func request() { stopRequested = 1 }

    /// Clears any request, so the next run goes to the end (tests). The handlers stay installed.
    public static func reset() {
        signalsSeen = 0
        stopRequested = 0
    }
}

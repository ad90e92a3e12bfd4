import Foundation

/// The processes (ranks) of one launch and the few collective operations the engine needs. Every
/// call is collective: every rank makes it, in the same order, from one thread (MPI_THREAD_FUNNELED).
/// No floating-point reduction is offered on purpose: sums the results depend on are done by the
/// engine in a fixed order, never by MPI, whose order depends on the ranks.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// What this rank's collectives moved and cost so far (for `lips bench round`).
    var traffic: CommunicatorTraffic { get }
    /// The largest of every rank's `value` (e.g. a stop request seen on any rank).
    func maximum(_ value: Int64) -> Int64
    /// Every rank's `bytes` (any length each), in rank order, on every rank.
    func allGather(_ bytes: [UInt8]) -> [[UInt8]]
}

/// Totals over one rank's collective calls: the bytes it contributed and the bytes it received from
/// the other ranks (the payload, not what the network carries for it), and the seconds spent inside
/// the calls, waiting for slower ranks included.
public struct CommunicatorTraffic: Sendable, Equatable {
    public var calls = 0
    public var bytesSent = 0
    public var bytesReceived = 0
    public var seconds = 0.0

    public init() {}

    /// The traffic since `earlier`.
    public func since(_ earlier: CommunicatorTraffic) -> CommunicatorTraffic {
        var delta = CommunicatorTraffic()
        delta.calls = calls - earlier.calls
        delta.bytesSent = bytesSent - earlier.bytesSent
        delta.bytesReceived = bytesReceived - earlier.bytesReceived
        delta.seconds = seconds - earlier.seconds
        return delta
    }
}

/// A launch of one process: the collectives are the identity.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var traffic: CommunicatorTraffic { CommunicatorTraffic() }
    public func maximum(_ value: Int64) -> Int64 { value }
    public func allGather(_ bytes: [UInt8]) -> [[UInt8]] { [bytes] }
}

public enum Ranks {
    /// Whether this binary was built with the `MPI` trait.
    public static var mpiBuilt: Bool {
        #if MPI
        return true
        #else
        return false
        #endif
    }

    /// This launch as seen from the environment.
    public static var launch: Launch { Launch(environment: ProcessInfo.processInfo.environment) }

    /// Refuses a multi-rank launch that would not run as one job: with a binary built without MPI
    /// (each rank would run the whole job on its own and they would write over each other's files),
    /// or of a command that does not run across ranks (`runsAcrossRanks` false).
    public static func refuseUnsupportedLaunch(runsAcrossRanks: Bool) throws {
        let launch = launch
        guard launch.isParallel else { return }
        guard mpiBuilt else {
            throw UserError("started by a parallel launcher (\(launch.source ?? "launcher")=\(launch.size)) but this lips was built without MPI; rebuild with `make build MPI=1`, or start one process")
        }
        guard runsAcrossRanks else {
            throw UserError("only `lips run`, `lips bench` and `lips ranks` run across MPI ranks; start this command as one process")
        }
    }

    /// The communicator of this launch: MPI's world when built with MPI and started by a parallel
    /// launcher (MPI is then initialised, once), else a single process. A binary built with MPI and
    /// started on its own does not initialise MPI at all (Open MPI's singleton start would spawn a
    /// helper daemon for nothing).
    public static func world() -> Communicator {
        #if MPI
        if launch.isParallel { return MPIWorld.shared }
        #endif
        return SingleProcess()
    }
}

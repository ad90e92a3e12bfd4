import Foundation

/// An advisory lock on a run folder (`flock` on its `.lips.lock`), held while one process runs it,
/// so two processes never write one folder: the second is refused (`lips run`) or skips the run
/// (`lips sweep`). The kernel drops the lock when its holder exits, killed or not, so a stale lock
/// never blocks a resume. Advisory: on a network file system it holds across nodes only where the
/// file system supports `flock` (NFSv4, Lustre mounted with `flock`).
final class RunFolderLock {
    static let fileName = ".lips.lock"
    private let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }
    deinit { close(descriptor) }

    /// Takes the lock of `directory` (creating the folder and the lock file), or returns nil with
    /// the holder's pid (as it wrote it; nil if unknown) when another open lock holds it.
    static func acquire(_ directory: String) throws -> (lock: RunFolderLock?, holder: Int32?) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw UserError("cannot create \(directory): \(error.localizedDescription)")
        }
        let path = (directory as NSString).appendingPathComponent(fileName)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw UserError("\(path): cannot open the run folder's lock (\(String(cString: strerror(errno))))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(descriptor, &buffer, buffer.count, 0)
            close(descriptor)
            guard busy else { throw UserError("\(path): cannot lock the run folder (\(reason))") }
            let holder = count > 0 ? Int32(String(decoding: buffer[..<count], as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)) : nil
            return (nil, holder)
        }
        // The holder's pid, for the message another process prints.
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.count, 0)
        return (RunFolderLock(descriptor: descriptor), nil)
    }

    /// "runs/x is in use by another lips process (pid 123)"
    static func inUse(_ directory: String, holder: Int32?) -> UserError {
        UserError("\(directory) is in use by another lips process\(holder.map { " (pid \($0))" } ?? ""); wait for it to end or choose another --out")
    }
}

import Foundation

/// Whole-file writes that a reader never sees half done: write a temporary file in the same
/// folder (`.NAME.tmp-PID-RANDOM`), fsync it, then `rename(2)` it over the target, which POSIX
/// makes atomic within one file system. A crash or a full disk leaves the old file in place.
public enum AtomicFile {
    /// Replaces `path` with `bytes`, creating missing parent folders.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try bytes.withUnsafeBytes { try write(buffer: $0, to: path) }
    }

    /// Replaces `path` with `data`, creating missing parent folders.
    public static func write(_ data: Data, to path: String) throws {
        try data.withUnsafeBytes { try write(buffer: $0, to: path) }
    }

    /// Replaces `path` with the UTF-8 of `text`, creating missing parent folders.
    public static func write(_ text: String, to path: String) throws {
        var text = text
        try text.withUTF8 { try write(buffer: UnsafeRawBufferPointer($0), to: path) }
    }

    /// The one implementation: temp file, write loop, fsync, rename, then fsync the folder so the
    /// rename itself survives a power cut.
    static func write(buffer: UnsafeRawBufferPointer, to path: String) throws {
        let (folder, name) = split(path)
        guard !name.isEmpty, name != ".", name != ".." else {
            throw UserError("\(path): is a folder, expected a file name")
        }
        try makeFolder(folder)
        let (temporary, descriptor) = try createTemporary(folder: folder, name: name, target: path)
        var failure: String?
        if let base = buffer.baseAddress {
            var written = 0
            while written < buffer.count {
                // Linux writes at most about 2 GiB per call; ask for 1 GiB at a time.
                let result = systemWrite(descriptor, base + written, min(buffer.count - written, 1 << 30))
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = reason()
                    break
                }
                written += result
            }
        }
        if failure == nil && fsync(descriptor) != 0 { failure = reason() }
        if close(descriptor) != 0 && failure == nil { failure = reason() }
        if let failure {
            unlink(temporary)
            throw UserError("\(path): cannot write (\(failure))")
        }
        guard rename(temporary, path) == 0 else {
            let failure = reason()
            unlink(temporary)
            throw UserError("\(path): cannot replace (\(failure))")
        }
        let folderDescriptor = open(folder, O_RDONLY)
        if folderDescriptor >= 0 {
            _ = fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    /// Opens a new temporary file next to the target; O_EXCL with a random suffix, so two
    /// writers (threads or processes) never share one.
    static func createTemporary(folder: String, name: String, target: String) throws -> (path: String, descriptor: Int32) {
        while true {
            let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            let temporary = (folder == "/" ? "/" : folder + "/") + ".\(name).tmp-\(getpid())-\(suffix)"
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if descriptor >= 0 { return (temporary, descriptor) }
            if errno == EEXIST || errno == EINTR { continue }
            throw UserError("\(target): cannot create a temporary file in \(folder) (\(reason()))")
        }
    }

    /// Removes the temporary files that writers killed mid-write left in `folder` (`.NAME.tmp-PID-…`).
    /// Call only while no other process writes there (the run folder's lock held).
    static func removeLeftovers(in folder: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        where name.hasPrefix(".") && name.range(of: #"\.tmp-[0-9]+-[0-9a-f]+$"#, options: .regularExpression) != nil {
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
        }
    }

    /// `mkdir -p`: creates `folder` and its missing parents.
    static func makeFolder(_ folder: String) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw UserError("\(folder): exists and is not a folder") }
            return
        }
        let parent = split(folder).folder
        if parent != folder { try makeFolder(parent) }
        if mkdir(folder, 0o755) != 0 && errno != EEXIST {
            throw UserError("\(folder): cannot create folder (\(reason()))")
        }
    }

    /// `path` as (folder, last component); the folder is "." for a bare name and "/" at the root.
    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = path[..<slash]
        return (folder.isEmpty ? "/" : String(folder), String(path[path.index(after: slash)...]))
    }

    /// The current `errno` as text ("No space left on device").
    static func reason() -> String { String(cString: strerror(errno)) }

    private static func systemWrite(_ descriptor: Int32, _ base: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        return Glibc.write(descriptor, base, count)
        #elseif canImport(Musl)
        return Musl.write(descriptor, base, count)
        #else
        return Darwin.write(descriptor, base, count)
        #endif
    }
}

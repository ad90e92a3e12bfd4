import Foundation
import PackagePlugin

/// Bakes the package's git commit into the `LIPS` module as `BuildInfo.commit` (`lips --version`,
/// every run's `provenance.json`).
///
/// Why this shape: SwiftPM has no build hooks, and it invokes build-tool plugins only when it
/// re-plans the build (a manifest or a target's file list changed), not on every build, so a
/// commit read here would go stale. The plugin therefore declares a build command whose inputs are
/// the git files that change whenever HEAD moves, `HEAD` and `logs/HEAD` (git appends to it on
/// every commit, checkout, reset, merge or pull of this checkout), so llbuild reruns it exactly
/// then. Ref files are not inputs: they vanish (`git pack-refs`), and a vanished input fails the
/// build. Limits: with reflogs turned off (`core.logAllRefUpdates=false`) a commit on the same
/// branch is seen only at the next re-plan (`touch Package.swift`); deleting `.git/logs` by hand
/// makes the next build fail on the missing input until then too. The command is `/bin/sh` reading those files
/// (`commit.sh`, inlined below): plugins are sandboxed on macOS and git itself may be missing or
/// refuse a folder owned by another user, so no git process is run. A worktree's or submodule's
/// `.git` file (`gitdir:`) and `commondir` are followed here. A build outside a git checkout (a
/// release tarball) gets "unknown". The file is rewritten only when its text changes, so a rerun
/// for the same commit recompiles nothing. Uncommitted changes are not detected (that needs git's
/// index, i.e. git itself).
@main
struct BuildInfo: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildInfo.swift")
        let repository = context.package.directoryURL
        let gitDirectory = GitFiles.gitDirectory(of: repository)
        let common = gitDirectory.map(GitFiles.commonDirectory) ?? repository
        // Only files that never go away: a declared input that vanishes fails the build, and ref
        // files do (`git pack-refs`, `git gc`, a deleted branch).
        let inputs = (gitDirectory.map { [$0.appending(path: "HEAD"), $0.appending(path: "logs/HEAD")] } ?? [])
            .filter { FileManager.default.fileExists(atPath: $0.path) }
        return [.buildCommand(displayName: "lips build info (git commit)", executable: URL(filePath: "/bin/sh"),
                              arguments: ["-c", GitFiles.script, "commit.sh", output.path,
                                          gitDirectory?.path ?? "", common.path],
                              inputFiles: inputs, outputFiles: [output])]
    }
}

/// Where git keeps a checkout's HEAD and refs, read from its files.
enum GitFiles {
    /// `.git` as a folder, or the folder a `.git` file (`gitdir: PATH`) points to.
    static func gitDirectory(of repository: URL) -> URL? {
        let dotGit = repository.appending(path: ".git")
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dotGit.path, isDirectory: &isFolder) else { return nil }
        if isFolder.boolValue { return dotGit }
        guard let link = text(dotGit), link.hasPrefix("gitdir:") else { return nil }
        return resolve(link.dropFirst(7).trimmingCharacters(in: .whitespaces), in: repository)
    }

    /// A worktree keeps HEAD in its own folder and the refs in the shared one its `commondir` names.
    static func commonDirectory(_ gitDirectory: URL) -> URL {
        text(gitDirectory.appending(path: "commondir")).map { resolve($0, in: gitDirectory) } ?? gitDirectory
    }

    /// `path`, absolute or relative to `folder`.
    static func resolve(_ path: String, in folder: URL) -> URL {
        (path.hasPrefix("/") ? URL(filePath: path) : folder.appending(path: path)).standardizedFileURL
    }

    static func text(_ url: URL) -> String? {
        (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `sh -c SCRIPT commit.sh OUTPUT GITDIR COMMONDIR`: the commit HEAD names (a detached hash, the
    /// branch's loose ref file, or its line in packed-refs) written as Swift into OUTPUT if changed;
    /// "unknown" without a git folder or a full hexadecimal hash.
    static let script = #"""
        output=$1 gitdir=$2 common=$3 commit=
        head=$(cat "$gitdir/HEAD" 2>/dev/null) || head=
        case $head in
            "ref: "*)
                ref=${head#ref: }
                for file in "$gitdir/$ref" "$common/$ref"; do
                    [ -f "$file" ] && { commit=$(cat "$file"); break; }
                done
                [ -n "$commit" ] || commit=$(awk -v ref="$ref" '$2 == ref { print $1; exit }' "$common/packed-refs" 2>/dev/null) ;;
            *) commit=$head ;;
        esac
        commit=$(printf '%s' "$commit" | tr -d ' \n\r' | tr 'A-F' 'a-f')
        case ${#commit} in 40|64) ;; *) commit=unknown ;; esac
        case $commit in *[!0-9a-f]*) commit=unknown ;; esac
        text="// Generated by Plugins/BuildInfo when git's HEAD moves; do not edit.
        /// What the build was made from.
        enum BuildInfo {
            /// The git commit the package was built from (hexadecimal), or \"unknown\" outside a git checkout.
            static let commit = \"$commit\"
        }"
        [ "$(cat "$output" 2>/dev/null)" = "$text" ] || printf '%s\n' "$text" > "$output"
        """#
}

internal import CLibGit2
internal import Foundation

/// Fetches a remote repository into a bare cache directory: the first time it is a clone,
/// later only the missing objects are transferred. libgit2 1.5 has no network timeouts of its
/// own, so the fetch runs on its own thread with its own repository handle, and the caller
/// stops waiting at the deadline (the progress callbacks then cancel the transfer).
enum GitFetch {
    static let refspecs = ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"]

    /// `$XDG_CACHE_HOME/meridian/git`, or `~/.cache/meridian/git`.
    static var defaultCacheDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/meridian/git" }
        return (env["HOME"] ?? NSTemporaryDirectory()) + "/.cache/meridian/git"
    }

    /// A readable, collision-free directory name for a URL.
    static func cacheName(for url: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in url.utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01B3 }
        let readable = String(url.unicodeScalars.map { s -> Character in
            s.isASCII && (s.properties.isAlphabetic || ("0" ... "9").contains(s) || s == "-" || s == "." || s == "_") ? Character(s) : "_"
        }.suffix(60))
        return readable + "-" + String(hash, radix: 16)
    }

    final class Job: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        // Written by the fetch thread before `done` is signalled; read after.
        var error: GitError?
        // Set by the waiting thread at the deadline; read by libgit2's callbacks.
        private let lock = NSLock()
        private var _cancelled = false
        var cancelled: Bool {
            get { lock.lock(); defer { lock.unlock() }; return _cancelled }
            set { lock.lock(); _cancelled = newValue; lock.unlock() }
        }
    }

    /// Fetches `url` into `directory` (created as a bare repository if needed).
    static func fetch(url: String, into directory: String, timeout: Double) throws(GitError) {
        _ = libgit2Initialised
        let job = Job()
        let thread = Thread {
            do {
                try run(url: url, directory: directory, job: job)
            } catch let error as GitError {
                job.error = error
            } catch {
                job.error = GitError(.environment, "fetch of \(url) failed: \(error)")
            }
            job.done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
        if job.done.wait(timeout: .now() + timeout) == .timedOut {
            job.cancelled = true
            throw GitError(.environment, "fetch of \(url) timed out after \(formatSeconds(timeout))")
        }
        if let error = job.error { throw error }
    }

    private static func formatSeconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
    }

    private static func run(url: String, directory: String, job: Job) throws(GitError) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // One fetch per cache directory at a time, across processes.
        let lockFD = open(directory + ".lock", O_CREAT | O_RDWR, 0o644)
        if lockFD >= 0 { flock(lockFD, LOCK_EX) }
        defer { if lockFD >= 0 { flock(lockFD, LOCK_UN); close(lockFD) } }

        var repo: OpaquePointer?
        if git_repository_open_bare(&repo, directory) < 0 {
            try gitCheck(git_repository_init(&repo, directory, 1), "cannot create the git cache at \(directory)")
        }
        defer { git_repository_free(repo) }

        var remote: OpaquePointer?
        if git_remote_lookup(&remote, repo, "origin") < 0 {
            try gitCheck(git_remote_create(&remote, repo, "origin", url), "cannot use remote \(url)")
        }
        defer { git_remote_free(remote) }

        var options = git_fetch_options()
        try gitCheck(git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION)), "libgit2 fetch options")
        options.prune = GIT_FETCH_PRUNE
        options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL
        options.callbacks.payload = Unmanaged.passUnretained(job).toOpaque()
        options.callbacks.transfer_progress = { _, payload in
            Unmanaged<Job>.fromOpaque(payload!).takeUnretainedValue().cancelled ? -1 : 0
        }
        options.callbacks.sideband_progress = { _, _, payload in
            Unmanaged<Job>.fromOpaque(payload!).takeUnretainedValue().cancelled ? -1 : 0
        }
        let rc = withStrArray(refspecs) { git_remote_fetch(remote, $0, &options, "meridian fetch") }
        if rc < 0 {
            throw GitError(.environment, "fetch of \(url) failed: \(gitLastError(rc))")
        }
        // Let later readers resolve HEAD to the remote's default branch.
        var buf = git_buf()
        defer { git_buf_dispose(&buf) }
        if git_remote_connect(remote, GIT_DIRECTION_FETCH, &options.callbacks, nil, nil) >= 0 {
            if git_remote_default_branch(&buf, remote) >= 0, let ptr = buf.ptr {
                let head = String(cString: ptr)
                if head.hasPrefix("refs/heads/") {
                    var ref: OpaquePointer?
                    let target = "refs/remotes/origin/" + head.dropFirst("refs/heads/".count)
                    if git_reference_symbolic_create(&ref, repo, "refs/remotes/origin/HEAD", target, 1, "meridian") >= 0 {
                        git_reference_free(ref)
                    }
                }
            }
            git_remote_disconnect(remote)
        }
    }
}

import FoundationEssentials
import SluiceStorage
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// glibc's pipe2 (the Glibc module does not export it): both ends close-on-exec from the
/// start, so a program spawned meanwhile by another lane cannot inherit them.
@_silgen_name("pipe2")
private func systemPipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

/// glibc ≥ 2.34: the child closes every descriptor from `from` up, whatever its flags:
/// sluiced's listening socket, connections and segment files never reach a handler (a
/// handler still running after a kill -9 would otherwise hold the API's port).
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

/// Runs a local program on one input: what `transform_command` and command functions
/// are built on.
///
/// Why not Foundation's `Process`: its `waitUntilExit` polls a run loop and its child
/// monitor is shared, so four programs at once ran at a tenth of the rate of one; and its
/// children inherit sluiced's ignored SIGPIPE. Here each run is `posix_spawn` into its own
/// process group with default signal dispositions and an empty signal mask, driven by one
/// thread that `poll`s the three pipes (the input goes in while the output comes out, so
/// a large batch cannot deadlock on full pipes), then reaps it. A run past its timeout, or
/// whose task is cancelled, gets SIGTERM to its whole group, and SIGKILL 2 s later.
public struct ChildProcess: Sendable {
    public var command: [String]
    public var timeout: Duration
    /// The whole environment of the child; nil inherits sluiced's.
    public var environment: [String: String]?
    /// At most this much of stdout is kept; a program that writes more fails the run.
    public var maxOutputBytes = 64 << 20
    /// Called with each line the program writes to stderr (cut at 8 KiB), as it comes.
    public var stderrLine: (@Sendable (String) -> Void)?

    public init(command: [String], timeout: Duration) {
        self.command = command
        self.timeout = timeout
    }

    /// Why a run failed: `problem` says it in words, for logs and error records.
    public struct Failure: Error, CustomStringConvertible {
        public enum Kind: Sendable, Equatable {
            case cannotStart, timedOut, exited(Int32), signalled(Int32), outputTooLarge, cancelled
        }

        public var kind: Kind
        public var problem: String
        public var description: String { problem }
    }

    /// Set when the task is cancelled; the driving thread stops the program.
    private final class Cancellation: Sendable {
        let flag = Atomic<Bool>(false)
    }

    /// Runs the program; returns its stdout when it exits with status 0.
    public func run(input: Data) async throws(Failure) -> Data {
        Self.ignoreSIGPIPE
        let cancellation = Cancellation()
        let result: Result<Data, Failure> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let started = DetachedThread.start(stackSize: 256 << 10) {
                    continuation.resume(returning: Result { () throws(Failure) in try runBlocking(input: input, cancellation: cancellation) })
                }
                if !started {
                    continuation.resume(returning: .failure(Failure(kind: .cannotStart, problem: "cannot start a thread to run \(command[0]): the system refused a new thread")))
                }
            }
        } onCancel: {
            cancellation.flag.store(true, ordering: .releasing)
        }
        return try result.get()
    }

    /// Writing to a pipe whose reader is gone must fail with EPIPE, not kill sluiced.
    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    private func runBlocking(input: Data, cancellation: Cancellation) throws(Failure) -> Data {
        let pipes = try makePipes()
        let pid: pid_t
        do {
            pid = try spawn(stdin: pipes[0].read, stdout: pipes[1].write, stderr: pipes[2].write)
        } catch {
            for pipe in pipes { close(pipe.read); close(pipe.write) }
            throw error
        }
        close(pipes[0].read)
        close(pipes[1].write)
        close(pipes[2].write)
        let stdinFD = pipes[0].write, stdoutFD = pipes[1].read, stderrFD = pipes[2].read
        _ = fcntl(stdinFD, F_SETFL, fcntl(stdinFD, F_GETFL) | O_NONBLOCK)
        var open = (stdin: true, stdout: true, stderr: true)
        let bytes = [UInt8](input)
        var written = 0
        if bytes.isEmpty {
            close(stdinFD)
            open.stdin = false
        }
        var output = [UInt8]()
        var tail = [UInt8]()
        var partial = [UInt8]()
        var tooLarge = false
        let started = ContinuousClock.now
        var termSentAt: ContinuousClock.Instant?
        var why: Failure.Kind?
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var status: Int32 = 0
        var reaped = false

        while !reaped {
            let now = ContinuousClock.now
            // Stop it: at the timeout, at cancellation, at too much output; kill it 2 s later.
            if termSentAt == nil {
                if now - started >= timeout { why = .timedOut }
                if cancellation.flag.load(ordering: .acquiring) { why = .cancelled }
                if tooLarge { why = .outputTooLarge }
                if why != nil {
                    kill(-pid, SIGTERM)
                    termSentAt = now
                }
            } else if let sent = termSentAt, now - sent >= .seconds(2) {
                kill(-pid, SIGKILL)
            }
            if open.stdout || open.stderr || open.stdin {
                var fds: [pollfd] = []
                if open.stdin { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
                if open.stdout { fds.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
                if open.stderr { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
                _ = poll(&fds, nfds_t(fds.count), 100)
                for entry in fds where entry.revents != 0 {
                    if entry.fd == stdinFD {
                        let n = bytes.withUnsafeBytes { write(stdinFD, $0.baseAddress! + written, bytes.count - written) }
                        if n > 0 { written += n }
                        if n < 0 && errno != EAGAIN && errno != EINTR || written == bytes.count {
                            close(stdinFD)
                            open.stdin = false
                        }
                        continue
                    }
                    let n = read(entry.fd, &buffer, buffer.count)
                    if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                    if n <= 0 {
                        close(entry.fd)
                        if entry.fd == stdoutFD { open.stdout = false } else { open.stderr = false }
                        continue
                    }
                    let chunk = buffer[0..<n]
                    if entry.fd == stdoutFD {
                        if output.count + n > maxOutputBytes { tooLarge = true } else { output += chunk }
                    } else {
                        tail = Array((tail + chunk).suffix(1024))
                        partial += chunk
                        emitLines(&partial)
                    }
                }
                continue
            }
            // Both outputs closed: reap it (it may still be running after closing them).
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result < 0 && errno == ECHILD) {
                reaped = true
            } else {
                usleep(5_000)
            }
        }
        if open.stdin { close(stdinFD) }
        if !partial.isEmpty, let stderrLine { stderrLine(String(decoding: partial, as: UTF8.self)) }
        let errors = String(decoding: tail, as: UTF8.self).trimmingWhitespace()
        let detail = errors.isEmpty ? "" : ": \(errors)"
        switch why {
        case .timedOut?: throw Failure(kind: .timedOut, problem: "\(command[0]) ran longer than \(timeout) and was stopped")
        case .cancelled?: throw Failure(kind: .cancelled, problem: "\(command[0]) was stopped: sluiced is stopping or the run was cancelled")
        case .outputTooLarge?: throw Failure(kind: .outputTooLarge, problem: "\(command[0]) wrote more than \(maxOutputBytes) bytes to stdout and was stopped")
        default: break
        }
        let signalled = status & 0x7f
        if signalled != 0 {
            throw Failure(kind: .signalled(signalled), problem: "\(command[0]) was killed by signal \(signalled)\(detail)")
        }
        let code = (status >> 8) & 0xff
        guard code == 0 else {
            throw Failure(kind: .exited(code), problem: "\(command[0]) exited with status \(code)\(detail)")
        }
        return Data(output)
    }

    /// Hands complete stderr lines (≤ 8 KiB each) to `stderrLine`.
    private func emitLines(_ partial: inout [UInt8]) {
        guard let stderrLine else {
            partial = []
            return
        }
        while let newline = partial.firstIndex(of: 0x0A) {
            stderrLine(String(decoding: partial[..<newline].prefix(8192), as: UTF8.self))
            partial.removeSubrange(...newline)
        }
        while partial.count > 8192 {
            stderrLine(String(decoding: partial.prefix(8192), as: UTF8.self))
            partial.removeFirst(8192)
        }
    }

    private func makePipes() throws(Failure) -> [(read: Int32, write: Int32)] {
        var pipes: [(read: Int32, write: Int32)] = []
        for _ in 0..<3 {
            var fds: [Int32] = [0, 0]
            guard systemPipe2(&fds, O_CLOEXEC) == 0 else {
                let problem = String(cString: strerror(errno))
                for pipe in pipes { close(pipe.read); close(pipe.write) }
                throw Failure(kind: .cannotStart, problem: "cannot run \(command[0]): no pipe (\(problem))")
            }
            pipes.append((fds[0], fds[1]))
        }
        return pipes
    }

    /// posix_spawn in a new process group, signals at their defaults, none blocked.
    private func spawn(stdin: Int32, stdout: Int32, stderr: Int32) throws(Failure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        _ = addCloseFrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))
        let environment = (self.environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw Failure(kind: .cannotStart, problem: "cannot run \(command[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }
}

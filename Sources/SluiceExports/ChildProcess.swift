import Foundation
import Synchronization

/// Runs a local program on one input: what `transform_command` and command functions
/// are built on. The input goes in while the output comes out (a large batch must not
/// deadlock on full pipes); a run past its timeout gets SIGTERM, and SIGKILL 2 s later.
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

    /// Runs the program; returns its stdout when it exits with status 0. A cancelled task
    /// sends the program SIGTERM (and SIGKILL 2 s later) and fails the run.
    public func run(input: Data) async throws(Failure) -> Data {
        let running = Running()
        let result: Result<Data, Failure> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(returning: Result { () throws(Failure) in try runBlocking(input: input, running: running) })
                }
            }
        } onCancel: {
            let pid = running.state.withLock { state -> pid_t? in
                state.cancelled = true
                return state.pid
            }
            if let pid { Self.stop(pid, running) }
        }
        return try result.get()
    }

    /// The child's pid while it runs, and whether the task was cancelled.
    private final class Running: Sendable {
        let state = Mutex<(pid: pid_t?, cancelled: Bool)>((nil, false))
    }

    /// SIGTERM now, SIGKILL in 2 s if it still runs then (the pid is cleared once the
    /// child is reaped, so a reused pid is never signalled).
    private static func stop(_ pid: pid_t, _ running: Running) {
        kill(pid, SIGTERM)
        DispatchQueue.global().asyncAfter(deadline: .now() + 2) {
            running.state.withLock { state in
                if state.pid == pid { kill(pid, SIGKILL) }
            }
        }
    }

    private func runBlocking(input: Data, running: Running) throws(Failure) -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        if let environment { process.environment = environment }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        do { try process.run() } catch {
            throw Failure(kind: .cannotStart, problem: "cannot run \(command[0]): \(error)")
        }
        let timedOut = Mutex(false)
        let pid = process.processIdentifier
        let cancelledAlready = running.state.withLock { state -> Bool in
            state.pid = pid
            return state.cancelled
        }
        if cancelledAlready { Self.stop(pid, running) }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let timer = DispatchWorkItem {
            timedOut.withLock { $0 = true }
            Self.stop(pid, running)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: timer)
        DispatchQueue.global().async {
            try? stdin.fileHandleForWriting.write(contentsOf: input)
            try? stdin.fileHandleForWriting.close()
        }
        let tail = Mutex(Data())
        let errorsRead = DispatchSemaphore(value: 0)
        let onLine = stderrLine
        DispatchQueue.global().async {
            var partial = Data()
            while case let chunk = stderr.fileHandleForReading.availableData, !chunk.isEmpty {
                tail.withLock { $0 = ($0 + chunk).suffix(1024) }
                guard let onLine else { continue }
                partial += chunk
                while let newline = partial.firstIndex(of: 0x0A) {
                    onLine(String(decoding: partial[partial.startIndex..<newline].prefix(8192), as: UTF8.self))
                    partial = Data(partial[(newline + 1)...])
                }
                if partial.count > 8192 {
                    onLine(String(decoding: partial.prefix(8192), as: UTF8.self))
                    partial = Data()
                }
            }
            if let onLine, !partial.isEmpty { onLine(String(decoding: partial, as: UTF8.self)) }
            errorsRead.signal()
        }
        var output = Data()
        var tooLarge = false
        while case let chunk = stdout.fileHandleForReading.availableData, !chunk.isEmpty {
            if output.count + chunk.count > maxOutputBytes {
                tooLarge = true
                kill(pid, SIGKILL)
                break
            }
            output += chunk
        }
        if tooLarge { _ = stdout.fileHandleForReading.readDataToEndOfFile() }
        process.waitUntilExit()
        errorsRead.wait()
        timer.cancel()
        running.state.withLock { $0.pid = nil }
        if running.state.withLock({ $0.cancelled }) {
            throw Failure(kind: .cancelled, problem: "\(command[0]) was stopped: sluiced is stopping or the function was paused")
        }
        if timedOut.withLock({ $0 }) {
            throw Failure(kind: .timedOut, problem: "\(command[0]) ran longer than \(timeout) and was stopped")
        }
        if tooLarge {
            throw Failure(kind: .outputTooLarge, problem: "\(command[0]) wrote more than \(maxOutputBytes) bytes to stdout and was stopped")
        }
        let errors = String(decoding: tail.withLock { $0 }, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let detail = errors.isEmpty ? "" : ": \(errors)"
        if process.terminationReason == .uncaughtSignal {
            throw Failure(kind: .signalled(process.terminationStatus), problem: "\(command[0]) was killed by signal \(process.terminationStatus)\(detail)")
        }
        guard process.terminationStatus == 0 else {
            throw Failure(kind: .exited(process.terminationStatus), problem: "\(command[0]) exited with status \(process.terminationStatus)\(detail)")
        }
        return output
    }
}

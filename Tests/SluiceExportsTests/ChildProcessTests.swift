import Foundation
import Synchronization
import Testing
@testable import SluiceExports

@Suite("ChildProcess: how handlers and transforms are run")
struct ChildProcessTests {
    private func run(_ script: String, input: String = "", timeout: Duration = .seconds(10), lines: Lines? = nil) async throws(ChildProcess.Failure) -> String {
        var process = ChildProcess(command: ["/bin/sh", "-c", script], timeout: timeout)
        if let lines { process.stderrLine = { line in lines.append(line) } }
        return String(decoding: try await process.run(input: Data(input.utf8)), as: UTF8.self)
    }

    @Test("10 MB in and out at once: no deadlock on full pipes")
    func largeInputAndOutput() async throws {
        let big = String(repeating: "0123456789", count: 1_000_000)
        #expect(try await run("cat", input: big) == big)
    }

    @Test("exit statuses and signals are reported with the end of stderr")
    func failures() async {
        do throws(ChildProcess.Failure) {
            _ = try await run("echo broken >&2; exit 7")
            Issue.record("no failure")
        } catch {
            #expect(error.kind == .exited(7))
            #expect(error.problem.contains("exited with status 7: broken"))
        }
        do throws(ChildProcess.Failure) {
            _ = try await run("kill -SEGV $$")
            Issue.record("no failure")
        } catch {
            #expect(error.kind == .signalled(11))
        }
    }

    @Test("the child starts with no signal ignored and none of sluiced's descriptors")
    func cleanStart() async throws {
        signal(SIGPIPE, SIG_IGN)
        let leaked = open("/proc/self/status", O_RDONLY)   // no O_CLOEXEC: must still not reach the child
        defer { close(leaked) }
        let status = try await run("cat /proc/self/status")
        func mask(_ name: String) -> UInt64? {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }.flatMap { UInt64($0.split(separator: "\t").last ?? "", radix: 16) }
        }
        // Signals 1–31 (SIGPIPE among them) at their defaults; 32 and 33 are glibc's own.
        #expect(mask("SigIgn").map { $0 & 0x7fff_ffff } == 0)
        #expect(mask("SigBlk") == 0)
        let fds = try await run("ls /proc/self/fd").split(separator: "\n").map(String.init)
        #expect(fds == ["0", "1", "2", "3"], "3 is ls reading the directory")
    }

    @Test("a timeout stops the program's whole process group, not only the shell")
    func timeoutKillsTheGroup() async throws {
        let lines = Lines()
        let started = ContinuousClock.now
        do throws(ChildProcess.Failure) {
            _ = try await run("sleep 300 & echo $! >&2; wait", timeout: .seconds(1), lines: lines)
            Issue.record("no timeout")
        } catch {
            #expect(error.kind == .timedOut)
        }
        // Not a timing test: a group left running would hold the pipes for 300 s.
        #expect(ContinuousClock.now - started < .seconds(120))
        let pid = try #require(lines.all.first.flatMap { pid_t($0) })
        // Gone, or a zombie waiting for its new parent to reap it: not sleeping on.
        let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: " ")[2]
        #expect(state == nil || state == "Z")
    }

    @Test("stderr comes out as lines, long ones cut at 8 KiB")
    func stderrLines() async throws {
        let lines = Lines()
        _ = try await run("printf 'one\\ntwo\\n' >&2; head -c 10000 /dev/zero | tr '\\\\0' x >&2", lines: lines)
        let got = lines.all
        #expect(got.prefix(2) == ["one", "two"])
        #expect(got.dropFirst(2).map(\.count) == [8192, 1808])
    }
}

/// What a program wrote to stderr, line by line.
final class Lines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }
}

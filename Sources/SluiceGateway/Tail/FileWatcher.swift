import Glibc
import Logging
import Synchronization

/// Wakes a file source when something changes in the directories it tails (inotify:
/// created, written, moved, deleted), so new lines are read at once instead of at the
/// next poll. Where inotify is not available (limits reached, a file system without it)
/// the source still polls, just less promptly; that is the fallback.
final class FileWatcher: Sendable {
    private let fd: Int32
    private let stopped = Atomic<Bool>(false)
    let signal = WakeSignal()
    let isWatching: Bool

    init(directories: [String], logger: Logger) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        var watching = false
        if fd >= 0 {
            let mask = UInt32(IN_CREATE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB)
            for directory in Set(directories) {
                if inotify_add_watch(fd, directory, mask) >= 0 {
                    watching = true
                } else {
                    logger.info("inotify cannot watch a directory; polling it instead", metadata: [
                        "directory": "\(directory)", "error": "\(String(cString: strerror(errno)))",
                    ])
                }
            }
        } else {
            logger.warning("inotify unavailable; polling files instead", metadata: ["error": "\(String(cString: strerror(errno)))"])
        }
        self.fd = fd
        self.isWatching = watching
        if watching {
            let thread = Thread { [self] in self.loop() }
            thread.start()
        }
    }

    /// Blocks in poll(2) on the inotify descriptor (waking each 200 ms to see if it is
    /// stopped) and turns events into wake-ups.
    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !stopped.load(ordering: .relaxed) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 200) > 0 else { continue }
            var gotEvents = false
            while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 { gotEvents = true }
            if gotEvents { signal.signal() }
        }
        close(fd)
    }

    /// Waits for a change or `timeout`.
    func wait(timeout: Duration) async { await signal.wait(timeout: timeout) }

    func stop() {
        if isWatching {
            stopped.store(true, ordering: .relaxed)
        } else if fd >= 0 {
            close(fd)
        }
    }
}

/// A thread for a blocking loop, without Foundation.
private final class Thread: @unchecked Sendable {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }

    func start() {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { raw in
            let me = Unmanaged<Thread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, box)
        pthread_detach(thread)
    }
}

import Dispatch
import Glibc
import Logging
import SluiceEngine

/// Wakes a file source when something changes in the directories it tails (inotify:
/// created, written, moved, deleted), so new lines are read at once instead of at the
/// next poll. Where inotify is not available (limits reached, a file system without it)
/// the source still polls, just less promptly; that is the fallback.
final class FileWatcher {
    let signal = WakeSignal()
    let isWatching: Bool
    /// Reads the inotify descriptor when it has events; closes it when cancelled.
    private let source: (any DispatchSourceRead)?

    init(directories: [String], logger: Logger) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else {
            logger.warning("inotify unavailable; polling files instead", metadata: ["error": "\(String(cString: strerror(errno)))"])
            isWatching = false
            source = nil
            return
        }
        let mask = UInt32(IN_CREATE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB)
        var watching = false
        for directory in Set(directories) {
            if inotify_add_watch(fd, directory, mask) >= 0 {
                watching = true
            } else {
                logger.info("inotify cannot watch a directory; polling it instead", metadata: [
                    "directory": "\(directory)", "error": "\(String(cString: strerror(errno)))",
                ])
            }
        }
        isWatching = watching
        guard watching else {
            close(fd)
            source = nil
            return
        }
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: DispatchQueue(label: "sluice.inotify"))
        let signal = self.signal
        source.setEventHandler { @Sendable in
            // The events only say "look again"; the source rescans what changed.
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
            signal.signal()
        }
        source.setCancelHandler { @Sendable in close(fd) }
        source.resume()
        self.source = source
    }

    /// Waits for a change or `timeout`.
    func wait(timeout: Duration) async { await signal.wait(timeout: timeout) }

    func stop() { source?.cancel() }
}

import CSystemd
#if canImport(Glibc)
import Glibc
#endif

/// sd_notify(3): tells systemd (through $NOTIFY_SOCKET) that the service is ready,
/// reloading, stopping, alive (watchdog), and what it is doing (STATUS=).
///
/// Without $NOTIFY_SOCKET (not started by systemd with Type=notify) every call is a no-op.
public struct SystemdNotifier: Sendable {
    public init() {}

    /// Whether a service manager listens.
    public var isActive: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// Sends one or more `KEY=value` lines. Returns false when nothing listens.
    @discardableResult
    public func notify(_ lines: String...) -> Bool {
        sd_notify(0, lines.joined(separator: "\n")) > 0
    }

    public func ready(status: String) { notify("READY=1", "STATUS=\(status)") }
    public func status(_ status: String) { notify("STATUS=\(status)") }
    public func watchdog() { notify("WATCHDOG=1") }
    public func stopping(status: String) { notify("STOPPING=1", "STATUS=\(status)") }

    /// RELOADING=1 with the CLOCK_MONOTONIC timestamp systemd ≥ 253 asks for
    /// (Type=notify-reload); older versions ignore it.
    public func reloading() {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let usec = UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1_000
        notify("RELOADING=1", "MONOTONIC_USEC=\(usec)", "STATUS=reloading the configuration")
    }

    /// The watchdog timeout systemd set (WatchdogSec=), or nil when the watchdog is off.
    /// Pings should come at half of it.
    public var watchdogTimeout: Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
    }
}

import Glibc
import Logging

/// Fits the API's connection bound to the process's descriptor limit.
///
/// systemd starts services with a soft `RLIMIT_NOFILE` of 1,024 unless the unit says
/// otherwise (ours sets `LimitNOFILE=`). sluiced raises the soft limit to the hard one
/// (at most 2^20), as servers commonly do, since every retained segment keeps its file
/// open; when it still cannot fit
/// `max_connections` plus what segments, the journal and sources hold open, it lowers the
/// connection bound and says so, so that idle clients can never take the last descriptor.
enum DescriptorLimit {
    /// Descriptors kept for everything but API connections.
    static let reserve = 512

    /// The connection bound to use: `requested`, or less when descriptors do not allow it.
    static func fit(maxConnections requested: Int, logger: Logger) -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return requested }
        let needed = rlim_t(requested + reserve)
        // Every retained segment keeps its file open, so take what the hard limit allows
        // (capped), not only what the API needs.
        if limit.rlim_max > limit.rlim_cur {
            var raised = limit
            raised.rlim_cur = min(limit.rlim_max, 1 << 20)
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        guard limit.rlim_cur < needed else { return requested }
        let fitted = max(16, Int(limit.rlim_cur) - reserve)
        logger.warning("[api] max_connections lowered to fit the descriptor limit", metadata: [
            "max_connections": "\(requested)", "now": "\(fitted)", "nofile": "\(limit.rlim_cur)",
            "fix": "raise LimitNOFILE= in the unit (or ulimit -n) to at least \(requested + reserve)",
        ])
        return fitted
    }
}

import SluiceEngine
import SluiceGateway
import SluiceStorage

/// `[limits]`: the gateway's per-shard meter and the spool.
package struct LimitsConfig: Equatable {
    package var bytesPerSecond = 1 << 20
    package var recordsPerSecond = 1_000
    package var spoolMaxBytes: Int64 = 1 << 30
    package var onFull = SpoolFullPolicy.block
    package var hotKeyPercent = 50

    package static func parse(_ section: TOMLSection) throws -> LimitsConfig {
        var limits = LimitsConfig()
        limits.bytesPerSecond = try section.int("bytes_per_second", range: 1...(1 << 34)) ?? limits.bytesPerSecond
        limits.recordsPerSecond = try section.int("records_per_second", range: 1...10_000_000) ?? limits.recordsPerSecond
        if let bytes = try section.int("spool_max_bytes", range: (1 << 20)...(1 << 50)) { limits.spoolMaxBytes = Int64(bytes) }
        if let policy = try section.choice("on_full", SpoolFullPolicy.allCases.map(\.rawValue)) { limits.onFull = SpoolFullPolicy(rawValue: policy)! }
        limits.hotKeyPercent = try section.int("hot_key_percent", range: 1...100) ?? limits.hotKeyPercent
        try section.rejectUnknownKeys()
        return limits
    }

    package var gatewaySettings: Gateway.Settings {
        var settings = Gateway.Settings()
        settings.rates = .init(bytesPerSecond: bytesPerSecond, recordsPerSecond: recordsPerSecond)
        settings.spoolMaxBytes = spoolMaxBytes
        settings.onFull = onFull
        settings.hotKeySharePercent = Double(hotKeyPercent)
        return settings
    }
}

import Synchronization

/// Turns a record's context into a valid Kinesis partition key: the template, then the
/// device map (the rendered value is the device id it looks up), then the optional salt
/// that spreads one key over N, then Kinesis' 1–256 character rule.
public final class PartitionKeyMapper: Sendable {
    public let template: PartitionKeyTemplate
    /// Spread each key over this many keys (`key#0` … `key#N-1`), round-robin. Per-key
    /// order then holds within each salted key only, which is the price of the spread.
    public let buckets: Int
    /// The key used when the template has no value for a record (a missing JSON field).
    public let fallback: String
    /// Device id to key, when a mapping file is configured.
    public let deviceMap: DeviceKeyMap?
    private let counter = Atomic<UInt64>(0)
    private let fallbacks = Atomic<UInt64>(0)

    public init(template: PartitionKeyTemplate, buckets: Int = 1, fallback: String = "unknown", deviceMap: DeviceKeyMap? = nil) {
        self.template = template
        self.deviceMap = deviceMap
        self.buckets = max(1, buckets)
        self.fallback = fallback
    }

    /// The key for one record; `missing` names the placeholder that had no value when the
    /// fallback was used.
    public func key(for context: PartitionKeyTemplate.Context) -> (key: String, missing: String?) {
        var key: String
        var missing: String?
        switch template.render(context) {
        case .success(let rendered) where !rendered.isEmpty:
            key = deviceMap?.key(for: rendered) ?? rendered
        case .success:
            key = fallback
            missing = "(empty)"
        case .failure(let failure):
            key = fallback
            missing = failure.placeholder
        }
        if missing != nil { fallbacks.add(1, ordering: .relaxed) }
        if buckets > 1 {
            key += "#\(counter.add(1, ordering: .relaxed).oldValue % UInt64(buckets))"
        }
        if key.count > 256 { key = String(key.prefix(256)) }
        return (key, missing)
    }

    /// Records that got the fallback key.
    public var fallbackCount: UInt64 { fallbacks.load(ordering: .relaxed) }
}

/// Resource policies and consumer tags: kept in the stream's metadata, so they live and
/// go with the stream (and its consumers) and survive restarts.
extension StreamCatalog {
    /// The policy document on a stream, or on one of its consumers; nil when none is set.
    /// - Throws: ResourceNotFoundException for an unknown stream or consumer.
    public func resourcePolicy(stream: String, consumer: String? = nil) throws -> String? {
        let m = try metadata(of: stream)
        guard let consumer else { return m.resourcePolicy }
        return try Self.consumer(consumer, in: m).resourcePolicy
    }

    /// PutResourcePolicy (a document) or DeleteResourcePolicy (nil). The document is
    /// checked by the caller, which knows the policy grammar.
    public func setResourcePolicy(stream: String, consumer: String? = nil, _ policy: String?) throws {
        try updateMetadata(stream) { m in
            guard let consumer else {
                m.resourcePolicy = policy
                return
            }
            let k = try Self.consumerIndex(consumer, in: m)
            m.consumers![k].resourcePolicy = policy
        }
    }

    /// A consumer's tags (TagResource on its ARN).
    public func consumerTags(stream: String, consumer: String) throws -> [String: String] {
        try Self.consumer(consumer, in: try metadata(of: stream)).tags ?? [:]
    }

    /// Adds (`add`) and removes (`remove`) a consumer's tags, within a stream's tag limits.
    public func updateConsumerTags(stream: String, consumer: String, add: [String: String] = [:], remove: [String] = []) throws {
        try updateMetadata(stream) { m in
            let k = try Self.consumerIndex(consumer, in: m)
            var tags = (m.consumers![k].tags ?? [:]).merging(add) { $1 }
            for key in remove { tags.removeValue(forKey: key) }
            guard tags.count <= KinesisLimits.maxTagsPerStream else {
                throw EngineError(.limitExceeded, "Consumer \(consumer) of stream \(stream) cannot have more than \(KinesisLimits.maxTagsPerStream) tags.")
            }
            m.consumers![k].tags = tags
        }
    }

    private static func consumerIndex(_ name: String, in m: StreamMetadata) throws -> Int {
        guard let k = (m.consumers ?? []).firstIndex(where: { $0.name == name }) else {
            throw EngineError(.resourceNotFound, "Consumer \(name) of stream \(m.name) not found.")
        }
        return k
    }

    private static func consumer(_ name: String, in m: StreamMetadata) throws -> ConsumerMetadata {
        m.consumers![try consumerIndex(name, in: m)]
    }
}

/// The ARN-based actions' shapes: resource policies, tags on any resource, account
/// settings and record size.

/// GetResourcePolicy, DeleteResourcePolicy, ListTagsForResource: a stream or consumer ARN.
public struct ResourceReference: Codable, Sendable {
    public var ResourceARN: String
    public init(ResourceARN: String) { self.ResourceARN = ResourceARN }
}

public struct PutResourcePolicyInput: Codable, Sendable {
    public var ResourceARN: String
    public var Policy: String
    public init(ResourceARN: String, Policy: String) {
        self.ResourceARN = ResourceARN
        self.Policy = Policy
    }
}

public struct GetResourcePolicyOutput: Codable, Sendable {
    public var Policy: String
    public init(Policy: String) { self.Policy = Policy }
}

public struct TagResourceInput: Codable, Sendable {
    public var ResourceARN: String
    public var Tags: [String: String]
    public init(ResourceARN: String, Tags: [String: String]) {
        self.ResourceARN = ResourceARN
        self.Tags = Tags
    }
}

public struct UntagResourceInput: Codable, Sendable {
    public var ResourceARN: String
    public var TagKeys: [String]
    public init(ResourceARN: String, TagKeys: [String]) {
        self.ResourceARN = ResourceARN
        self.TagKeys = TagKeys
    }
}

public struct ListTagsForResourceOutput: Codable, Sendable {
    public var Tags: [TagShape]
    public init(Tags: [TagShape]) { self.Tags = Tags }
}

public struct DescribeAccountSettingsOutput: Codable, Sendable {
    public struct Commitment: Codable, Sendable {
        public var Status: String
    }

    public var MinimumThroughputBillingCommitment: Commitment
    public init(status: String) { MinimumThroughputBillingCommitment = Commitment(Status: status) }
}

public struct UpdateMaxRecordSizeInput: Codable, Sendable {
    public var StreamARN: String?
    public var MaxRecordSizeInKiB: Int
}

import SluiceStorage

/// A resource policy on a stream or a consumer (PutResourcePolicy), in IAM's JSON policy
/// grammar, as far as a box with access keys and no IAM can honour it:
///
/// ```json
/// {"Version": "2012-10-17",
///  "Statement": [{"Sid": "readers", "Effect": "Allow" | "Deny",
///                 "Principal": "*" | {"AWS": "AKID" | ["AKID", "arn:aws:iam::ACCOUNT:root", "*"]},
///                 "Action": "kinesis:Get*" | [...], "Resource": "arn:aws:kinesis:*:*:stream/logs" | [...]}]}
/// ```
///
/// Principals are `[auth]` access key ids (or `*`, or the account's root ARN, meaning
/// every key). `Action` and `Resource` take IAM's wildcards (`*`, `?`; actions
/// case-insensitively). `NotAction`, `NotResource`, `NotPrincipal` and `Condition` are
/// refused when the policy is put, not ignored: a policy is never weaker than it reads.
public struct ResourcePolicy: Sendable, Equatable {
    public struct Statement: Sendable, Equatable {
        public var allow: Bool
        /// nil: every principal.
        public var principals: [String]?
        public var actions: [String]
        public var resources: [String]
    }

    public var statements: [Statement]
    /// The largest policy document accepted (AWS: 20 KiB).
    public static let maxBytes = 20_480

    /// What a statement decides for one request.
    public enum Decision: Sendable, Equatable { case allow, deny, none }

    /// Parses and checks a policy document.
    /// - Throws: `KinesisError` InvalidArgumentException that names what is wrong.
    public init(json text: String, accountId: String) throws {
        func invalid(_ what: String) -> KinesisError {
            KinesisError(type: "InvalidArgumentException", message: "The resource policy is not valid: \(what). See IAM's JSON policy grammar: Version, Statement with Effect, Principal, Action and Resource.")
        }
        guard text.utf8.count <= Self.maxBytes else { throw invalid("it is \(text.utf8.count) bytes, more than \(Self.maxBytes)") }
        guard let document = try? JSONParser.parse(Array(text.utf8)), case .object = document else { throw invalid("it is not a JSON object") }
        if let version = document["Version"], version.string != "2012-10-17", version.string != "2008-10-17" {
            throw invalid("Version must be \"2012-10-17\"")
        }
        let listed: [JSONValue]
        switch document["Statement"] {
        case .array(let items)?: listed = items
        case .object?: listed = [document["Statement"]!]
        default: throw invalid("Statement is missing")
        }
        guard !listed.isEmpty else { throw invalid("Statement is empty") }
        func strings(_ value: JSONValue?, _ field: String, in k: Int) throws -> [String] {
            switch value {
            case .string(let one)?: return [one]
            case .array(let many)? where !many.isEmpty && many.allSatisfy({ $0.string != nil }): return many.compactMap(\.string)
            default: throw invalid("statement \(k + 1) needs \(field) as a string or a list of strings")
            }
        }
        statements = try listed.enumerated().map { k, statement in
            guard case .object = statement else { throw invalid("statement \(k + 1) is not an object") }
            for unsupported in ["NotAction", "NotResource", "NotPrincipal", "Condition"] where statement[unsupported] != nil {
                throw invalid("statement \(k + 1) uses \(unsupported), which sluiced does not evaluate")
            }
            let effect = statement["Effect"]?.string
            guard effect == "Allow" || effect == "Deny" else { throw invalid("statement \(k + 1) needs Effect \"Allow\" or \"Deny\"") }
            var principals: [String]?
            switch statement["Principal"] {
            case .string("*")?: principals = nil
            case .object?:
                let named = try strings(statement["Principal"]?["AWS"], "Principal {\"AWS\": ...}", in: k)
                let root = "arn:aws:iam::\(accountId):root"
                principals = named.contains("*") || named.contains(root) || named.contains(accountId) ? nil : named
            default: throw invalid("statement \(k + 1) needs a Principal: \"*\" or {\"AWS\": access key ids}")
            }
            let actions = try strings(statement["Action"], "Action", in: k)
            for action in actions where !action.lowercased().hasPrefix("kinesis:") && action != "*" {
                throw invalid("statement \(k + 1) names action \"\(action)\"; a stream's policy takes kinesis: actions")
            }
            return Statement(allow: effect == "Allow", principals: principals, actions: actions, resources: try strings(statement["Resource"], "Resource", in: k))
        }
    }

    /// Whether the policy allows or denies `action` (without `kinesis:`) by `accessKeyId`
    /// on the resource whose ARNs are `resources` (one per region it may be named in): an
    /// explicit Deny wins over any Allow.
    public func decide(action: String, accessKeyId: String, resources: [String]) -> Decision {
        var decision = Decision.none
        for statement in statements {
            guard statement.principals.map({ $0.contains(accessKeyId) }) ?? true else { continue }
            guard statement.actions.contains(where: { $0 == "*" || Self.matches($0, "kinesis:" + action, caseless: true) }) else { continue }
            guard statement.resources.contains(where: { pattern in
                let pattern = Self.withoutConsumerCreationTime(pattern)
                return resources.contains { Self.matches(pattern, $0, caseless: false) }
            }) else { continue }
            if !statement.allow { return .deny }
            decision = .allow
        }
        return decision
    }

    /// A consumer ARN ends in `:<creation time>`; a consumer's resources are matched by
    /// name (`…/consumer/NAME`), so a pattern's `:1700000000` or `:*` suffix is dropped.
    static func withoutConsumerCreationTime(_ pattern: String) -> String {
        guard let consumer = pattern.firstRange(of: "/consumer/"), let colon = pattern[consumer.upperBound...].lastIndex(of: ":") else { return pattern }
        let suffix = pattern[pattern.index(after: colon)...]
        guard suffix == "*" || (!suffix.isEmpty && suffix.allSatisfy(\.isNumber)) else { return pattern }
        return String(pattern[..<colon])
    }

    /// IAM's wildcards: `*` any run, `?` one character; nothing else is special.
    static func matches(_ pattern: String, _ text: String, caseless: Bool) -> Bool {
        let p = Array((caseless ? pattern.lowercased() : pattern).unicodeScalars)
        let t = Array((caseless ? text.lowercased() : text).unicodeScalars)
        var (i, j) = (0, 0)
        var star: Int?
        var resume = 0
        while j < t.count {
            if i < p.count, p[i] == "?" || p[i] == t[j] {
                i += 1
                j += 1
            } else if i < p.count, p[i] == "*" {
                star = i
                resume = j
                i += 1
            } else if let star {
                i = star + 1
                resume += 1
                j = resume
            } else {
                return false
            }
        }
        while i < p.count, p[i] == "*" { i += 1 }
        return i == p.count
    }
}

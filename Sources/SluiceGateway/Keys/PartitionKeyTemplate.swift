import SluiceStorage

/// A partition-key template: literal text with placeholders, e.g. `{host}-{json.device.id}`.
///
/// Placeholders: `{host}`, `{file.path}`, `{file.name}`, `{json.FIELD}` (dotted path into
/// the record's JSON), `{topic}`, and any other `{name}` is a value the source captured
/// (an MQTT topic level). Parsed once at start so a typo is a config error, not a key.
public struct PartitionKeyTemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case literal(String)
        case host
        case filePath
        case fileName
        case json([String])
        case topic
        case capture(String)
    }

    let parts: [Part]
    public let text: String

    /// Values a template is rendered from.
    public struct Context: Sendable {
        public var host: String
        public var filePath: String?
        public var json: JSONValue?
        public var topic: String?
        public var captures: [String: String]

        public init(host: String, filePath: String? = nil, json: JSONValue? = nil, topic: String? = nil, captures: [String: String] = [:]) {
            self.host = host
            self.filePath = filePath
            self.json = json
            self.topic = topic
            self.captures = captures
        }
    }

    /// - Throws: `TemplateError` naming the placeholder or the unbalanced brace.
    /// - Parameter captures: names a source can capture; other names are refused.
    public init(_ text: String, allowedCaptures: Set<String> = []) throws {
        self.text = text
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(where: { $0 == "{" || $0 == "}" }) {
            literal += rest[..<open]
            guard rest[open] == "{", let close = rest[open...].firstIndex(of: "}") else {
                throw TemplateError(.unbalancedBrace, "partition key template \"\(text)\": unbalanced brace; placeholders look like {host}")
            }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = ""
            let name = String(rest[rest.index(after: open)..<close])
            switch name {
            case "host": parts.append(.host)
            case "file.path": parts.append(.filePath)
            case "file.name": parts.append(.fileName)
            case "topic": parts.append(.topic)
            case _ where name.hasPrefix("json.") && name.count > 5:
                parts.append(.json(name.dropFirst(5).split(separator: ".").map(String.init)))
            case _ where allowedCaptures.contains(name):
                parts.append(.capture(name))
            default:
                throw TemplateError(.unknownPlaceholder, "partition key template \"\(text)\": unknown placeholder {\(name)}; use {host}, {file.path}, {file.name}, {json.FIELD}, {topic}\(allowedCaptures.isEmpty ? "" : " or a captured name (\(allowedCaptures.sorted().joined(separator: ", ")))")")
            }
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { parts.append(.literal(literal)) }
        guard !parts.isEmpty else { throw TemplateError(.empty, "partition key template is empty; use e.g. \"{host}\"") }
        self.parts = parts
    }

    /// Whether the key depends only on the host and the file (not on the record), so a
    /// source can render it once per file instead of once per line.
    public var isPerFile: Bool {
        parts.allSatisfy { part in
            switch part {
            case .literal, .host, .filePath, .fileName: true
            default: false
            }
        }
    }

    /// Whether the template reads a field of the record's JSON.
    public var usesJSON: Bool {
        parts.contains { if case .json = $0 { true } else { false } }
    }

    /// The key, or the name of the first placeholder without a value.
    public func render(_ context: Context) -> Result<String, MissingValue> {
        var key = ""
        for part in parts {
            switch part {
            case .literal(let text): key += text
            case .host: key += context.host
            case .filePath:
                guard let path = context.filePath else { return .failure(MissingValue(placeholder: "file.path")) }
                key += path
            case .fileName:
                guard let path = context.filePath else { return .failure(MissingValue(placeholder: "file.name")) }
                key += path.split(separator: "/").last.map(String.init) ?? path
            case .topic:
                guard let topic = context.topic else { return .failure(MissingValue(placeholder: "topic")) }
                key += topic
            case .capture(let name):
                guard let value = context.captures[name] else { return .failure(MissingValue(placeholder: name)) }
                key += value
            case .json(let path):
                guard let text = context.json?.value(at: path)?.keyText else {
                    return .failure(MissingValue(placeholder: "json." + path.joined(separator: ".")))
                }
                key += text
            }
        }
        return .success(key)
    }

    public struct MissingValue: Error, Equatable {
        public var placeholder: String
    }
}

/// What is wrong with a partition-key template.
public enum TemplateProblem: Sendable, Equatable {
    /// A brace without its pair.
    case unbalancedBrace
    /// A placeholder the source cannot fill.
    case unknownPlaceholder
    /// The template is empty.
    case empty
}

public typealias TemplateError = CodedFailure<TemplateProblem>


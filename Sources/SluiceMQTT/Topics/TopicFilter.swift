import SluiceStorage

/// One entry of `topics`: an MQTT topic filter in which a level written `{name}` is a `+`
/// wildcard whose value is captured under `name` (`devices/{device}/telemetry` subscribes
/// to `devices/+/telemetry` and captures `device`). Plain `+` and a final `#` work as in
/// MQTT; they match without capturing.
public struct TopicFilter: Sendable, Equatable {
    enum Level: Sendable, Equatable {
        case exact(String)
        case single(capture: String?)
        case multi
    }

    /// As written in the config.
    public let text: String
    let levels: [Level]

    /// - Throws: `TopicFilterError` naming the filter and what is wrong with it.
    public init(_ text: String) throws {
        self.text = text
        guard !text.isEmpty else { throw TopicFilterError(.empty, "topic filter is empty; use e.g. \"devices/{device}/telemetry\"") }
        guard text.utf8.count <= 65_535 else { throw TopicFilterError(.tooLong, "topic filter \"\(text.prefix(40))...\" is longer than MQTT's 65,535 bytes") }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        var levels: [Level] = []
        var names: Set<String> = []
        for (index, part) in parts.enumerated() {
            if part == "+" {
                levels.append(.single(capture: nil))
            } else if part == "#" {
                guard index == parts.count - 1 else {
                    throw TopicFilterError(.misplacedWildcard, "topic filter \"\(text)\": '#' must be the last level")
                }
                levels.append(.multi)
            } else if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 {
                let name = String(part.dropFirst().dropLast())
                guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !TopicFilter.reserved.contains(name) else {
                    throw TopicFilterError(.badCapture, "topic filter \"\(text)\": capture {\(name)} must be letters, digits or '_' and not one of \(TopicFilter.reserved.sorted().joined(separator: ", "))")
                }
                guard names.insert(name).inserted else {
                    throw TopicFilterError(.repeatedCapture, "topic filter \"\(text)\": capture {\(name)} appears twice")
                }
                levels.append(.single(capture: name))
            } else if part.contains(where: { "+#{}".contains($0) }) {
                throw TopicFilterError(.mixedLevel, "topic filter \"\(text)\": level \"\(part)\" mixes text with '+', '#' or braces; a wildcard or {name} takes a whole level")
            } else {
                levels.append(.exact(String(part)))
            }
        }
        self.levels = levels
    }

    /// Names a capture may not take: they are the template's own placeholders.
    static let reserved: Set<String> = ["host", "topic"]

    /// What is sent in SUBSCRIBE.
    public var subscription: String {
        levels.map { level -> String in
            switch level {
            case .exact(let text): text
            case .single: "+"
            case .multi: "#"
            }
        }.joined(separator: "/")
    }

    /// The names this filter captures.
    public var captureNames: [String] {
        levels.compactMap { if case .single(let name?) = $0 { name } else { nil } }
    }

    /// The captured values when `topic` matches this filter; nil when it does not.
    /// (MQTT: wildcards at the first level do not match topics starting with `$`.)
    public func match(_ topic: String) -> [String: String]? {
        if topic.hasPrefix("$"), levels.first?.isWildcard == true { return nil }
        var captures: [String: String] = [:]
        var topicLevels = topic.split(separator: "/", omittingEmptySubsequences: false)[...]
        for level in levels {
            switch level {
            case .multi:
                return captures
            case .exact(let text):
                guard let next = topicLevels.popFirst(), next == text else { return nil }
            case .single(let name):
                guard let next = topicLevels.popFirst() else { return nil }
                if let name { captures[name] = String(next) }
            }
        }
        return topicLevels.isEmpty ? captures : nil
    }
}

extension TopicFilter.Level {
    var isWildcard: Bool {
        if case .exact = self { false } else { true }
    }
}

/// What is wrong with a topic filter.
public enum TopicFilterProblem: Sendable, Equatable {
    /// The filter is empty.
    case empty
    /// Longer than MQTT's 65,535 bytes.
    case tooLong
    /// '#' not at the end.
    case misplacedWildcard
    /// A {name} that is not a name, or reserved.
    case badCapture
    /// A {name} given twice.
    case repeatedCapture
    /// A level mixing text with a wildcard or capture.
    case mixedLevel
}

public typealias TopicFilterError = CodedFailure<TopicFilterProblem>


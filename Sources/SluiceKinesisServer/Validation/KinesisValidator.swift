import SluiceKinesis
import SluiceStorage

/// AWS's input validation for every Kinesis action, before the action runs: required
/// members, lengths, ranges, enums and patterns from the service model
/// (`KinesisInputModel`, generated from botocore's copy of it), members checked in the
/// API reference's order (by name), every failure reported in one answer in AWS's form:
/// `2 validation errors detected: Value 'x' at 'streamName' failed to satisfy constraint:
/// Member must ...; Value ...`.
///
/// Why a model rather than checks in each action: the reference changes (records up to
/// 10 MiB, new actions), and a regenerated model follows it; hand-written checks drifted
/// (a name pattern checked after the stream was looked up).
enum KinesisValidator {
    /// One member's type and constraints.
    indirect enum Shape: Sendable {
        case string(min: Int?, max: Int?, pattern: Pattern?, allowed: [String]?)
        case blob(min: Int?, max: Int?)
        case number(min: Int64?, max: Int64?)
        case list(member: Shape, min: Int?, max: Int?)
        case map(min: Int?, max: Int?)
        case structure(members: [(name: String, shape: Shape)], required: Set<String>)
        case other
    }

    /// The actions' inputs, parsed once from the generated model.
    static let inputs: [String: Shape] = {
        guard let model = try? JSONParser.parse(Array(KinesisInputModel.json.utf8)), case .object(let actions) = model else { return [:] }
        return Dictionary(actions.map { ($0.0, shape($0.1)) }, uniquingKeysWith: { a, _ in a })
    }()

    /// Throws AWS's ValidationException listing every constraint `body` breaks for
    /// `action`. Bodies that are not JSON objects are left to the decoder (a
    /// SerializationException); so are members of the wrong type.
    static func validate(action: String, body: JSONValue) throws {
        guard let input = inputs[action] else { return }
        var failures: [String] = []
        check(body, against: input, at: "", into: &failures)
        guard !failures.isEmpty else { return }
        let count = failures.count == 1 ? "1 validation error" : "\(failures.count) validation errors"
        throw KinesisError(type: "ValidationException", message: "\(count) detected: " + failures.joined(separator: "; "))
    }

    private static func check(_ value: JSONValue, against shape: Shape, at path: String, into failures: inout [String]) {
        func fail(_ shown: String?, _ rule: String) {
            failures.append("Value \(shown.map { "'\($0)'" } ?? "null") at '\(path)' failed to satisfy constraint: Member must \(rule)")
        }
        func bounds(_ length: Int, min: Int?, max: Int?, shown: String) {
            if let min, length < min { fail(shown, "have length greater than or equal to \(min)") }
            if let max, length > max { fail(shown, "have length less than or equal to \(max)") }
        }
        switch (shape, value) {
        case (.structure(let members, let required), .object):
            for (name, member) in members {
                let memberPath = (path.isEmpty ? "" : path + ".") + name.prefix(1).lowercased() + name.dropFirst()
                guard let child = value[name], child != .null else {
                    if required.contains(name) {
                        failures.append("Value null at '\(memberPath)' failed to satisfy constraint: Member must not be null")
                    }
                    continue
                }
                check(child, against: member, at: memberPath, into: &failures)
            }
        case (.string(let min, let max, let pattern, let allowed), .string(let text)):
            bounds(text.count, min: min, max: max, shown: text)
            if let allowed, !allowed.contains(text) { fail(text, "satisfy enum value set: [\(allowed.joined(separator: ", "))]") }
            if let pattern, !pattern.matches(text) { fail(text, "satisfy regular expression pattern: \(pattern.source)") }
        case (.blob(let min, let max), .string(let base64)):
            // Decoded size from the base64 length (padding aside): no decode here.
            let padding = base64.utf8.reversed().prefix(2).filter { $0 == UInt8(ascii: "=") }.count
            let length = Swift.max(0, base64.utf8.count / 4 * 3 - padding)
            bounds(length, min: min, max: max, shown: "java.nio.HeapByteBuffer[pos=0 lim=\(length) cap=\(length)]")
        case (.number(let min, let max), .number(let text)):
            guard let number = Double(text) else { return }
            if let min, number < Double(min) { fail(text, "have value greater than or equal to \(min)") }
            if let max, number > Double(max) { fail(text, "have value less than or equal to \(max)") }
        case (.list(let member, let min, let max), .array(let items)):
            bounds(items.count, min: min, max: max, shown: String(decoding: value.bytes, as: UTF8.self))
            for (k, item) in items.enumerated() {
                check(item, against: member, at: "\(path).\(k + 1).member", into: &failures)
            }
        case (.map(let min, let max), .object(let members)):
            bounds(members.count, min: min, max: max, shown: String(decoding: value.bytes, as: UTF8.self))
        default:
            return
        }
    }

    private static func shape(_ json: JSONValue) -> Shape {
        func int(_ key: String) -> Int? { json[key].flatMap { if case .number(let n) = $0 { Int(n) } else { nil } } }
        switch json["t"]?.string {
        case "string":
            var allowed: [String]?
            if case .array(let values)? = json["enum"] { allowed = values.compactMap(\.string) }
            return .string(min: int("min"), max: int("max"), pattern: json["pattern"]?.string.map(Pattern.init), allowed: allowed)
        case "blob":
            return .blob(min: int("min"), max: int("max"))
        case "integer", "long":
            return .number(min: int("min").map(Int64.init), max: int("max").map(Int64.init))
        case "list":
            return .list(member: json["member"].map(shape) ?? .other, min: int("min"), max: int("max"))
        case "map":
            return .map(min: int("min"), max: int("max"))
        case "structure":
            var members: [(String, Shape)] = []
            if case .array(let pairs)? = json["members"] {
                for pair in pairs {
                    if case .array(let parts) = pair, parts.count == 2, let name = parts[0].string { members.append((name, shape(parts[1]))) }
                }
            }
            var required: Set<String> = []
            if case .array(let names)? = json["required"] { required = Set(names.compactMap(\.string)) }
            return .structure(members: members, required: required)
        default:
            return .other
        }
    }
}

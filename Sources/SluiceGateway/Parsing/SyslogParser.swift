import SluiceStorage
/// syslog lines, RFC 5424 and RFC 3164, into JSON fields.
enum SyslogParser {
    static let months: Set<Substring> = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func parse(_ line: String) -> Result<JSONValue, LineParser.Failure> {
        var rest = Substring(line)
        var fields: [(String, JSONValue)] = []
        if rest.first == "<" {
            guard let close = rest.firstIndex(of: ">"), let pri = Int(rest[rest.index(after: rest.startIndex)..<close]), (0...191).contains(pri) else {
                return .failure(.init(message: "syslog: invalid <PRI> (expected <0> to <191>)"))
            }
            fields += [("facility", .number(String(pri / 8))), ("severity", .number(String(pri % 8)))]
            rest = rest[rest.index(after: close)...]
        }
        if rest.hasPrefix("1 ") {
            return parse5424(rest.dropFirst(2), fields: fields)
        }
        return parse3164(rest, fields: fields)
    }

    /// `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`, `-` for nil.
    static func parse5424(_ text: Substring, fields: [(String, JSONValue)]) -> Result<JSONValue, LineParser.Failure> {
        var fields = fields + [("version", .number("1"))]
        var rest = text
        let names = ["timestamp", "host", "app", "procid", "msgid"]
        for name in names {
            guard let space = rest.firstIndex(of: " ") else {
                return .failure(.init(message: "syslog RFC 5424: missing \(name)"))
            }
            let value = rest[..<space]
            if value != "-" { fields.append((name, .string(String(value)))) }
            rest = rest[rest.index(after: space)...]
        }
        // Structured data: "-" or one or more [id param="value" ...] elements.
        if rest.hasPrefix("-") {
            rest = rest.dropFirst()
        } else if rest.hasPrefix("[") {
            var index = rest.startIndex
            var inQuotes = false
            var escaped = false
            while index < rest.endIndex {
                let c = rest[index]
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inQuotes.toggle() } else if c == "]" && !inQuotes {
                    let next = rest.index(after: index)
                    if next == rest.endIndex || rest[next] != "[" {
                        fields.append(("structured_data", .string(String(rest[...index]))))
                        rest = rest[next...]
                        break
                    }
                }
                index = rest.index(after: index)
            }
            if index == rest.endIndex && !rest.isEmpty && fields.last?.0 != "structured_data" {
                return .failure(.init(message: "syslog RFC 5424: unterminated structured data"))
            }
        } else {
            return .failure(.init(message: "syslog RFC 5424: expected structured data ('-' or '[...]')"))
        }
        if rest.first == " " { rest = rest.dropFirst() }
        if rest.hasPrefix("\u{FEFF}") { rest = rest.dropFirst() }
        fields.append(("message", .string(String(rest))))
        return .success(.object(fields))
    }

    /// `Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG`.
    static func parse3164(_ text: Substring, fields: [(String, JSONValue)]) -> Result<JSONValue, LineParser.Failure> {
        var fields = fields
        guard text.count >= 16, months.contains(text.prefix(3)) else {
            return .failure(.init(message: "syslog: expected an RFC 5424 line (<PRI>1 ...) or an RFC 3164 timestamp (Mmm dd hh:mm:ss)"))
        }
        let timestamp = text.prefix(15)
        let clock = timestamp.suffix(8)
        guard clock.count == 8, clock.enumerated().allSatisfy({ k, c in [2, 5].contains(k) ? c == ":" : c.isNumber }) else {
            return .failure(.init(message: "syslog RFC 3164: invalid time in \"\(timestamp)\""))
        }
        fields.append(("timestamp", .string(String(timestamp))))
        var rest = text.dropFirst(15).drop { $0 == " " }
        guard let space = rest.firstIndex(of: " ") else {
            return .failure(.init(message: "syslog RFC 3164: missing host"))
        }
        fields.append(("host", .string(String(rest[..<space]))))
        rest = rest[rest.index(after: space)...]
        // TAG: up to ':' or '[' within the first word.
        if let colon = rest.firstIndex(of: ":"), !rest[..<colon].contains(" ") {
            var tag = rest[..<colon]
            if tag.last == "]", let open = tag.firstIndex(of: "[") {
                fields.append(("app", .string(String(tag[..<open]))))
                fields.append(("pid", .string(String(tag[tag.index(after: open)..<tag.index(before: tag.endIndex)]))))
                tag = tag[..<open]
            } else {
                fields.append(("app", .string(String(tag))))
            }
            rest = rest[rest.index(after: colon)...]
            if rest.first == " " { rest = rest.dropFirst() }
        }
        fields.append(("message", .string(String(rest))))
        return .success(.object(fields))
    }
}

import SluiceStorage
/// Apache/NCSA access-log lines: `%h %l %u %t "%r" %>s %b`, and for `combined` also
/// `"%{Referer}i" "%{User-agent}i"`.
enum ApacheLogParser {
    static func parse(_ line: String, combined: Bool) -> Result<JSONValue, LineParser.Failure> {
        let format = combined ? "apache_combined" : "apache_common"
        guard let tokens = tokenize(line) else {
            return .failure(.init(message: "\(format): unbalanced quotes or brackets"))
        }
        let expected = combined ? 9 : 7
        guard tokens.count == expected || (!combined && tokens.count == 9) else {
            return .failure(.init(message: "\(format): expected \(expected) fields, found \(tokens.count)"))
        }
        guard tokens[3].hasPrefix("["), tokens[3].hasSuffix("]") else {
            return .failure(.init(message: "\(format): field 4 must be the [time]"))
        }
        guard let status = Int(tokens[5]), (100...999).contains(status) else {
            return .failure(.init(message: "\(format): status \"\(tokens[5])\" is not a number"))
        }
        func optional(_ text: String) -> JSONValue { text == "-" ? .null : .string(text) }
        var fields: [(String, JSONValue)] = [
            ("host", .string(tokens[0])), ("ident", optional(tokens[1])), ("user", optional(tokens[2])),
            ("time", .string(String(tokens[3].dropFirst().dropLast()))),
        ]
        let request = tokens[4].split(separator: " ", omittingEmptySubsequences: true)
        if request.count == 3 {
            fields += [("method", .string(String(request[0]))), ("path", .string(String(request[1]))), ("protocol", .string(String(request[2])))]
        } else {
            fields.append(("request", .string(tokens[4])))
        }
        fields.append(("status", .number(String(status))))
        if tokens[6] == "-" {
            fields.append(("bytes", .number("0")))
        } else if let bytes = Int(tokens[6]) {
            fields.append(("bytes", .number(String(bytes))))
        } else {
            return .failure(.init(message: "\(format): size \"\(tokens[6])\" is not a number"))
        }
        if combined {
            fields += [("referer", optional(tokens[7])), ("agent", optional(tokens[8]))]
        }
        return .success(.object(fields))
    }

    /// Splits on spaces, keeping `[...]` whole and `"..."` whole (quotes removed, `\"` kept).
    static func tokenize(_ line: String) -> [String]? {
        var tokens: [String] = []
        var chars = Substring(line)
        while true {
            chars = chars.drop { $0 == " " }
            guard let first = chars.first else { return tokens }
            if first == "\"" {
                var value = ""
                var index = chars.index(after: chars.startIndex)
                var closed = false
                while index < chars.endIndex {
                    let c = chars[index]
                    if c == "\\", chars.index(after: index) < chars.endIndex {
                        index = chars.index(after: index)
                        value.append(chars[index])
                    } else if c == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(c)
                    }
                    index = chars.index(after: index)
                }
                guard closed else { return nil }
                tokens.append(value)
                chars = chars[chars.index(after: index)...]
            } else if first == "[" {
                guard let close = chars.firstIndex(of: "]") else { return nil }
                tokens.append(String(chars[...close]))
                chars = chars[chars.index(after: close)...]
            } else {
                let end = chars.firstIndex(of: " ") ?? chars.endIndex
                tokens.append(String(chars[..<end]))
                chars = chars[end...]
            }
        }
    }
}

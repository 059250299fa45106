import SluiceStorage
/// One CSV line (RFC 4180 quoting: `"a ""quoted"" value"`) into an object of named columns.
enum CSVParser {
    static func parse(_ line: ArraySlice<UInt8>, columns: [String], delimiter: UInt8) -> Result<JSONValue, LineParser.Failure> {
        var values: [String] = []
        var field: [UInt8] = []
        var index = line.startIndex
        var quoted = false
        var atFieldStart = true
        let quote = UInt8(ascii: "\"")
        while index < line.endIndex {
            let byte = line[index]
            if quoted {
                if byte == quote {
                    let next = line.index(after: index)
                    if next < line.endIndex, line[next] == quote {
                        field.append(quote)
                        index = next
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(byte)
                }
            } else if byte == delimiter {
                values.append(String(decoding: field, as: UTF8.self))
                field = []
                atFieldStart = true
                index = line.index(after: index)
                continue
            } else if byte == quote && atFieldStart {
                quoted = true
            } else if byte == UInt8(ascii: "\r") && line.index(after: index) == line.endIndex {
                // A CRLF file: the CR is not data.
            } else {
                field.append(byte)
            }
            atFieldStart = false
            index = line.index(after: index)
        }
        guard !quoted else { return .failure(.init(message: "csv: unterminated quoted field")) }
        values.append(String(decoding: field, as: UTF8.self))
        guard values.count == columns.count else {
            return .failure(.init(message: "csv: expected \(columns.count) columns (\(columns.joined(separator: ","))), found \(values.count)"))
        }
        return .success(.object(zip(columns, values).map { ($0, .string($1)) }))
    }
}

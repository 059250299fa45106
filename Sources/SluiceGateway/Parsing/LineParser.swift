import SluiceStorage
/// How a source turns one line (or multi-line record) into a record's structure.
public enum LineParser: Sendable, Equatable {
    /// The line as it is.
    case raw
    /// The line is a JSON document.
    case json
    /// syslog, RFC 3164 (`<13>Nov 23 10:00:00 host app[42]: text`, the `<PRI>` optional as
    /// files written by rsyslog lack it) or RFC 5424 (`<13>1 2026-11-23T10:00:00Z host app 42 ID - text`).
    case syslog
    /// Apache/NCSA Common Log Format; `combined` adds referer and user agent.
    case apacheCommon
    case apacheCombined
    /// Delimited values with RFC 4180 quoting, named by `columns`.
    case csv(columns: [String], delimiter: UInt8)

    public static let names = ["raw", "json", "syslog", "apache_common", "apache_combined", "csv"]

    public struct Failure: Error, Equatable {
        public var message: String
    }

    /// The structure of `line`: nil for `raw`, a JSON value otherwise.
    public func parse(_ line: ArraySlice<UInt8>) -> Result<JSONValue?, Failure> {
        switch self {
        case .raw:
            return .success(nil)
        case .json:
            do { return .success(try JSONParser.parse(line)) } catch { return .failure(Failure(message: "invalid JSON: \(error)")) }
        case .syslog:
            return SyslogParser.parse(String(decoding: line, as: UTF8.self)).map(Optional.some)
        case .apacheCommon:
            return ApacheLogParser.parse(String(decoding: line, as: UTF8.self), combined: false).map(Optional.some)
        case .apacheCombined:
            return ApacheLogParser.parse(String(decoding: line, as: UTF8.self), combined: true).map(Optional.some)
        case .csv(let columns, let delimiter):
            return CSVParser.parse(line, columns: columns, delimiter: delimiter).map(Optional.some)
        }
    }
}

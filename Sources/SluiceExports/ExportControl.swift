import FoundationEssentials
import SluiceEngine
import SluiceKinesis

/// `sluice exports`' requests to a running sluiced: AWS JSON 1.1 on the API's listener with
/// `X-Amz-Target: Sluice_20261130.<Action>`, signed and authorized like the Kinesis actions
/// when `[auth]` is on (a key needs the action by name, or `*`).
///
/// - `ListExports` `{}` → `{"Exports": [ExportStatus]}`
/// - `PauseExport` `{"ExportName"}` → `{"Export": ExportStatus}`
/// - `ResumeExport` `{"ExportName", "From"?, "Timestamp"?}` → `{"Export": ExportStatus}`;
///   `From` is `TRIM_HORIZON`, `LATEST` or `AT_TIMESTAMP` (with `Timestamp`, seconds since
///   the epoch) and moves the export there before it resumes.
public struct ExportControl: Sendable {
    public static let targetPrefix = "Sluice_20261130."
    public static let actions = ["ListExports", "PauseExport", "ResumeExport"]

    let exports: [String: Export]

    public init(exports: [Export]) {
        self.exports = Dictionary(exports.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public struct ExportRequest: Codable, Sendable {
        public var ExportName: String?
        public var From: String?
        public var Timestamp: Double?

        public init(ExportName: String? = nil, From: String? = nil, Timestamp: Double? = nil) {
            self.ExportName = ExportName
            self.From = From
            self.Timestamp = Timestamp
        }
    }

    public struct ListOutput: Codable, Sendable {
        public var Exports: [ExportStatus]
    }

    public struct ExportOutput: Codable, Sendable {
        public var Export: ExportStatus
    }

    /// Runs one action. - Throws: `KinesisError` in its wire shape.
    public func handle(action: String, body: Data) async throws -> Data {
        let request: ExportRequest
        do {
            request = try JSONDecoder().decode(ExportRequest.self, from: body.isEmpty ? Data("{}".utf8) : body)
        } catch {
            throw KinesisError.decoding(error, body: body)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        switch action {
        case "ListExports":
            return try encoder.encode(ListOutput(Exports: exports.values.sorted { $0.name < $1.name }.map { $0.status() }))
        case "PauseExport":
            let export = try named(request.ExportName)
            try run { try export.pause() }
            return try encoder.encode(ExportOutput(Export: export.status()))
        case "ResumeExport":
            let export = try named(request.ExportName)
            let start = try Self.start(from: request.From, timestamp: request.Timestamp)
            try run { try export.resume(from: start) }
            return try encoder.encode(ExportOutput(Export: export.status()))
        default:
            throw KinesisError.unknownOperation(action)
        }
    }

    private func named(_ name: String?) throws -> Export {
        guard let name else {
            throw KinesisError(type: "ValidationException", message: "1 validation error detected: Value null at 'exportName' failed to satisfy constraint: Member must not be null", status: 400)
        }
        guard let export = exports[name] else {
            let known = exports.keys.sorted().joined(separator: ", ")
            throw KinesisError(type: "ResourceNotFoundException", message: "Export \(name) is not configured (configured: \(known.isEmpty ? "none" : known)).", status: 400)
        }
        return export
    }

    /// A local failure (writing the position file) as the API's 500.
    private func run(_ body: () throws -> Void) throws {
        do { try body() } catch let error as EngineError {
            throw KinesisError(error)
        }
    }

    /// `From` and `Timestamp` as a starting position; nil when `From` is absent.
    static func start(from: String?, timestamp: Double?) throws -> ConsumerStart? {
        switch from {
        case nil:
            guard timestamp == nil else {
                throw KinesisError(type: "InvalidArgumentException", message: "Timestamp applies to From = AT_TIMESTAMP only.", status: 400)
            }
            return nil
        case "TRIM_HORIZON": return .trimHorizon
        case "LATEST": return .latest
        case "AT_TIMESTAMP":
            guard let timestamp else {
                throw KinesisError(type: "InvalidArgumentException", message: "From = AT_TIMESTAMP needs Timestamp (seconds since the epoch).", status: 400)
            }
            guard timestamp.isFinite, timestamp >= 0, timestamp < 9_000_000_000_000 else {
                throw KinesisError(type: "InvalidArgumentException", message: "Timestamp \(timestamp) is not a time (seconds since the epoch, 0 or more).", status: 400)
            }
            return .atTimestamp(millis: Int64(timestamp * 1000))
        case let other?:
            throw KinesisError(type: "ValidationException", message: "1 validation error detected: Value '\(other)' at 'from' failed to satisfy constraint: Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]", status: 400)
        }
    }
}

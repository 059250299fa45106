import FoundationEssentials
import Glibc
import SluiceKinesis
import SluiceStorage

/// Printing for people (aligned text) and for scripts (`--json`, one object per line).
enum Output {
    /// One JSON object on a line, keys sorted, slashes not escaped.
    static func json(_ object: [String: Any]) {
        print(String(decoding: value(object).bytes, as: UTF8.self))
    }

    /// A JSON value for what the commands print: strings, booleans, numbers, optionals,
    /// arrays and objects (sorted by key); anything else as its description.
    static func value(_ any: Any) -> JSONValue {
        switch any {
        case let text as String: .string(text)
        case let flag as Bool: .bool(flag)
        case let number as any BinaryInteger: .number("\(number)")
        case let number as Double: number.isFinite ? .number("\(number)") : .null
        case let items as [Any]: .array(items.map(value))
        case let object as [String: Any]: .object(object.keys.sorted().map { ($0, value(object[$0]!)) })
        case let optional as Any? where optional == nil: .null
        default: .string("\(any)")
        }
    }

    /// An ISO 8601 time such as 2026-01-31T12:00:00Z, with or without fractional seconds.
    static func date(_ text: String) -> Date? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) ?? (try? Date(text, strategy: .iso8601))
    }

    static func timestamp(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Writes an error to stderr in the form scripts can match: `sluice: Type: message`.
    static func failure(_ error: any Error) -> Never {
        StandardError.write("sluice: \(error)\n")
        exit(1)
    }
}

/// Runs `body` with a client and always shuts the client down.
func withClient<T>(_ options: EndpointOptions, _ body: (KinesisClient) async throws -> T) async throws -> T {
    let client = KinesisClient(endpoint: options.endpoint, signing: signing(options))
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        Output.failure(error)
    }
}

/// Signing when credentials are named or found where the AWS SDKs look (a sluiced without
/// `[auth]` ignores signatures); unsigned when none are.
func signing(_ options: EndpointOptions) -> KinesisClient.Signing? {
    let named = options.profile != nil || options.credentialsFile != nil
    do {
        return .init(region: options.region, credentials: try AWSCredentialsProvider(file: options.credentialsFile, profile: options.profile))
    } catch {
        if named { Output.failure(error) }
        return nil
    }
}

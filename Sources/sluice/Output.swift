import Foundation
import SluiceKinesis

/// Printing for people (aligned text) and for scripts (`--json`, one object per line).
enum Output {
    static func json(_ object: [String: Any]) {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        print(String(decoding: data, as: UTF8.self))
    }

    static func timestamp(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    /// Writes an error to stderr in the form scripts can match: `sluice: Type: message`.
    static func failure(_ error: any Error) -> Never {
        FileHandle.standardError.write(Data("sluice: \(error)\n".utf8))
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

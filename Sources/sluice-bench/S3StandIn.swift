import Hummingbird
import Logging

/// The part of S3 an export's objects need, on loopback, for the benchmark: PutObject
/// takes the whole body and answers 200 with an ETag; listing unfinished uploads answers
/// none. It keeps nothing, so the figure is Sluice's side of the delivery.
enum S3StandIn {
    static func serve(logger: Logger) async throws -> (String, Task<Void, any Error>) {
        let router = Router()
        router.put("**") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 256 << 20)
            var headers = HTTPFields()
            headers[.eTag] = "\"bench\""
            return Response(status: .ok, headers: headers)
        }
        router.get("**") { _, _ -> String in
            "<ListMultipartUploadsResult><Bucket>bench</Bucket></ListMultipartUploadsResult>"
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var quiet = logger
        quiet.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: quiet
        )
        let task = Task { try await app.runService() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw S3StandInError() }
        return ("http://127.0.0.1:\(port)", task)
    }

    struct S3StandInError: Error, CustomStringConvertible {
        var description: String { "the S3 stand-in did not start" }
    }
}

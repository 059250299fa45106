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
        return try await LoopbackServer.serve(router, logger: logger)
    }
}

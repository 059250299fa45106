import AsyncHTTPClient
import FoundationEssentials
import Logging
import NIOCore
import NIOHTTP1
import SluiceExports

/// One call of a handler: the event and what the handler is told about the call.
public struct Invocation: Sendable {
    public var requestId: String
    public var event: [UInt8]
    /// Unix milliseconds at which the call is cut off.
    public var deadlineMillis: Int64
}

/// What a call came to: the handler's answer, or a function error.
public enum InvocationResult: Sendable, Equatable {
    case answered([UInt8])
    /// `statusCode` as Lambda's failure record reports it (the url handler's status, or 200).
    case failed(problem: String, statusCode: Int)
}

/// Runs one batch's event through the user's code (FUNCTIONS.md, "Invocation"). Never
/// throws for what the handler does: that is a `.failed` result. Returns promptly when
/// its task is cancelled (the handler is stopped).
public protocol FunctionHandler: Sendable {
    func invoke(_ invocation: Invocation) async -> InvocationResult
    func shutdown() async
}

/// `command = [...]`: one process per batch, the event on stdin, the answer on stdout,
/// stderr lines to the log tagged with the function.
public struct CommandHandler: FunctionHandler {
    let command: [String]
    let settings: FunctionSettings
    let logger: Logger

    public init(command: [String], settings: FunctionSettings, logger: Logger) {
        self.command = command
        self.settings = settings
        self.logger = logger
    }

    public func invoke(_ invocation: Invocation) async -> InvocationResult {
        var process = ChildProcess(command: command, timeout: settings.timeout)
        var environment = settings.environment
        environment["AWS_LAMBDA_FUNCTION_NAME"] = settings.name
        environment["AWS_REGION"] = settings.region
        environment["AWS_LAMBDA_FUNCTION_TIMEOUT"] = "\(settings.timeout.components.seconds)"
        environment["AWS_LAMBDA_REQUEST_ID"] = invocation.requestId
        environment["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST"
        environment["SLUICE_FUNCTION_ARN"] = settings.functionArn
        environment["SLUICE_DEADLINE_MS"] = "\(invocation.deadlineMillis)"
        environment["PATH"] = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        process.environment = environment
        process.maxOutputBytes = settings.maxEventBytes
        let logger = logger, name = settings.name, requestId = invocation.requestId
        process.stderrLine = { line in
            logger.info("\(line)", metadata: ["function": "\(name)", "request_id": "\(requestId)"])
        }
        do {
            return .answered(Array(try await process.run(input: Data(invocation.event))))
        } catch {
            return .failed(problem: error.problem, statusCode: 200)
        }
    }

    public func shutdown() async {}
}

/// `url = "http://…"`: POST per batch, the answer in the response body; a 2xx status is
/// success, anything else (or no answer within the timeout) a function error.
public final class URLHandler: FunctionHandler {
    let url: String
    let settings: FunctionSettings
    let http = HTTPClient(eventLoopGroupProvider: .singleton)

    public init(url: String, settings: FunctionSettings) {
        self.url = url
        self.settings = settings
    }

    public func invoke(_ invocation: Invocation) async -> InvocationResult {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Lambda-Runtime-Aws-Request-Id", value: invocation.requestId)
        request.headers.add(name: "Lambda-Runtime-Deadline-Ms", value: "\(invocation.deadlineMillis)")
        request.headers.add(name: "Lambda-Runtime-Invoked-Function-Arn", value: settings.functionArn)
        request.body = .bytes(ByteBuffer(bytes: invocation.event))
        do {
            let response = try await http.execute(request, timeout: .nanoseconds(Int64(settings.timeout / .nanoseconds(1))))
            let body = try await response.body.collect(upTo: settings.maxEventBytes)
            guard (200..<300).contains(Int(response.status.code)) else {
                let text = String(decoding: body.readableBytesView.prefix(200), as: UTF8.self)
                return .failed(problem: "\(url) answered \(response.status.code)\(text.isEmpty ? "" : ": \(text)")", statusCode: Int(response.status.code))
            }
            return .answered(Array(body.readableBytesView))
        } catch {
            return .failed(problem: "POST \(url) failed: \(error)", statusCode: 500)
        }
    }

    public func shutdown() async { try? await http.shutdown() }
}

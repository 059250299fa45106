import HTTPTypes
import Logging
import Metrics
import NIOCore
import NIOHTTPTypes
import SluiceKinesis
import SluiceStorage
import Synchronization

/// Bounds the API's connections: how many may be open at once, and how long one may go
/// without sending a whole request.
///
/// Why: with systemd's default of 1,024 descriptors, about a thousand idle connections
/// once left none for new clients, and slow-header (slowloris) connections were kept
/// forever. Beyond `maxConnections` a new connection is answered at once with a 503 and
/// closed (a fast, polite refusal instead of a hang in the accept queue); a connection
/// that has not delivered a complete request within `idleTimeout` of opening or of its
/// previous response is closed. Refusals and timeouts are counted and logged at most
/// once per 10 s each.
public final class ConnectionGuard: Sendable {
    public let maxConnections: Int
    public let idleTimeout: Duration
    let open = Atomic<Int>(0)
    let refusedTotal = Atomic<Int>(0)
    let timedOutTotal = Atomic<Int>(0)
    let refusedLog = LogRateLimit()
    let timedOutLog = LogRateLimit()
    let logger: Logger
    /// In /metrics: `APIConnectionsOpen`, `APIConnectionsRefused`, `APIConnectionsTimedOut`.
    let openGauge = Gauge(label: "APIConnectionsOpen")
    let refusedCounter = Counter(label: "APIConnectionsRefused")
    let timedOutCounter = Counter(label: "APIConnectionsTimedOut")

    public init(maxConnections: Int, idleTimeout: Duration, logger: Logger) {
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    func opened() -> Int {
        let now = open.add(1, ordering: .relaxed).newValue
        openGauge.record(now)
        return now
    }

    func closed() {
        openGauge.record(open.subtract(1, ordering: .relaxed).newValue)
    }

    /// A handler for one connection's pipeline (after the HTTP codec).
    public func handler() -> any RemovableChannelHandler {
        ConnectionGuardHandler(guard: self)
    }

    func noteRefused() {
        refusedCounter.increment()
        let total = refusedTotal.add(1, ordering: .relaxed).newValue
        refusedLog.log(logger, .warning, "API connection refused: the connection limit is reached", metadata: [
            "max_connections": "\(maxConnections)", "refused_total": "\(total)",
            "fix": "raise [api] max_connections (and the unit's LimitNOFILE) or find the client holding connections",
        ])
    }

    func noteTimedOut() {
        timedOutCounter.increment()
        let total = timedOutTotal.add(1, ordering: .relaxed).newValue
        timedOutLog.log(logger, .notice, "API connection closed: no complete request within the idle timeout", metadata: [
            "idle_timeout_seconds": "\(idleTimeout.components.seconds)", "timed_out_total": "\(total)",
        ])
    }
}

/// Counts one connection against its `ConnectionGuard` and closes it when idle too long.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionGuard
    private var counted = false
    private var deadline: Scheduled<Void>?

    init(guard limits: ConnectionGuard) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            // A whole request arrived: the server's answer may take as long as it needs.
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context) }
        context.write(data, promise: promise)
    }

    private func admit(_ context: ChannelHandlerContext) {
        guard !counted else { return }
        counted = true
        guard limits.opened() <= limits.maxConnections else {
            refuse(context)
            return
        }
        arm(context)
    }

    /// Answers 503 before any request is read and closes: clients see a clear refusal.
    private func refuse(_ context: ChannelHandlerContext) {
        limits.noteRefused()
        let body = ByteBuffer(string: #"{"__type":"ServiceUnavailableException","message":"sluiced has reached [api] max_connections; retry later"}"#)
        var head = HTTPResponse(status: .serviceUnavailable)
        head.headerFields[.contentType] = "application/x-amz-json-1.1"
        head.headerFields[.contentLength] = "\(body.readableBytes)"
        head.headerFields[.connection] = "close"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
            channel.close(promise: nil)
        }
    }

    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let limits = self.limits
        let (seconds, attoseconds) = limits.idleTimeout.components
        deadline = context.eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {
            [channel = context.channel] in
            limits.noteTimedOut()
            channel.close(promise: nil)
        }
    }

    private func release() {
        deadline?.cancel()
        deadline = nil
        if counted {
            counted = false
            limits.closed()
        }
    }
}

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

    /// The handler that counts one connection and refuses it beyond the bound: first in
    /// the connection's pipeline (after TLS), whatever protocol it turns out to speak. It
    /// also closes a connection that sends nothing within the idle timeout.
    public func admission() -> any ChannelHandler {
        ConnectionAdmissionHandler(guard: self)
    }

    /// The handler that times one HTTP/1.1 connection or HTTP/2 stream between requests
    /// (after the HTTP codec).
    public func requestTimer() -> any RemovableChannelHandler {
        RequestIdleTimer(limits: self)
    }

    /// Closes `channel` (and counts it timed out) unless cancelled within `idleTimeout`.
    func closeWhenIdle(_ channel: any Channel) -> Scheduled<Void> {
        channel.eventLoop.scheduleTask(in: TimeAmount(idleTimeout)) { [self] in
            noteTimedOut()
            channel.close(promise: nil)
        }
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

/// Counts one connection against its `ConnectionGuard`; beyond the bound, answers 503 at
/// once and closes. Until the client's first bytes arrive it also times the connection
/// out (the HTTP-level timer is not there yet while the protocol is unknown).
final class ConnectionAdmissionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let limits: ConnectionGuard
    private var counted = false
    private var refused = false
    private var firstBytes: Scheduled<Void>?

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
        // A refused connection's request is not read: it has its answer.
        guard !refused else { return }
        firstBytes?.cancel()
        firstBytes = nil
        context.fireChannelRead(data)
    }

    private func admit(_ context: ChannelHandlerContext) {
        guard !counted else { return }
        counted = true
        guard limits.opened() <= limits.maxConnections else {
            refuse(context)
            return
        }
        firstBytes = limits.closeWhenIdle(context.channel)
    }

    /// Answers 503 (HTTP/1.1, what a client that sent nothing yet can read) and closes:
    /// clients see a clear refusal instead of a hang in the accept queue.
    private func refuse(_ context: ChannelHandlerContext) {
        refused = true
        limits.noteRefused()
        let body = #"{"__type":"ServiceUnavailableException","message":"sluiced has reached [api] max_connections; retry later"}"#
        let response = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n" + body
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).whenComplete { [channel = context.channel] _ in
            channel.close(promise: nil)
        }
    }

    private func release() {
        firstBytes?.cancel()
        firstBytes = nil
        if counted {
            counted = false
            limits.closed()
        }
    }
}

/// Closes an HTTP/1.1 connection (or HTTP/2 stream) that has not delivered a complete
/// request within the idle timeout of opening or of its previous response.
final class RequestIdleTimer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionGuard
    private var deadline: Scheduled<Void>?

    init(limits: ConnectionGuard) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
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

    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = limits.closeWhenIdle(context.channel)
    }
}

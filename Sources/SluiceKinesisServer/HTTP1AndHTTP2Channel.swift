import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOHTTP2
import NIOSSL
import NIOTLS

/// HTTP/1.1 and HTTP/2 on one listener: over TLS the client chooses by ALPN ("h2" or
/// "http/1.1"); in plain text HTTP/2 with prior knowledge (h2c) is told apart by its
/// first bytes.
///
/// Why: the Java v2 async client (SubscribeToShard in KCL 2 and 3) and the JavaScript
/// SDK v3 speak HTTP/2 from the first byte on an `http://` endpoint; an HTTP/1.1-only
/// server answers them with garbage ("First received frame was not SETTINGS"). Hummingbird
/// serves one or the other on a plain port; this looks at a connection's first bytes
/// (HTTP/2's fixed 24-byte preface, RFC 9113 §3.4) and sets the connection up for the
/// protocol it speaks, through the same negotiation TLS's ALPN uses. At shutdown a
/// connection gets `shutdownGrace` to finish before it is closed: an HTTP/2 client that
/// never answers the GOAWAY's ping would otherwise hold the daemon until its idle timeout.
public struct HTTP1AndHTTP2Channel: HTTPChannelHandler {
    typealias Negotiated = NIONegotiatedHTTPVersion<HTTP1Channel.Value, HTTP2Channel.Value>

    public struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        public let channel: any Channel
    }

    private let http1: HTTP1Channel
    private let http2: HTTP2Channel
    private let tls: NIOSSLContext?
    private let shutdownGrace: TimeAmount
    private let connections: ConnectionGuard?
    public var responder: Responder { http1.responder }

    /// - Parameters:
    ///   - configuration: HTTP/2's; its `streamConfiguration` is HTTP/1.1's too (the
    ///     handlers every request passes, on either protocol).
    ///   - tls: the server's TLS configuration; nil for plain text.
    ///   - connections: counts connections and times requests; an idle HTTP/2 connection
    ///     (no open stream) closes after its idle timeout too.
    public init(
        responder: @escaping Responder, configuration: HTTP2ChannelConfiguration = .init(), tls: TLSConfiguration? = nil,
        connections: ConnectionGuard? = nil, shutdownGrace: Duration = .seconds(5)
    ) throws {
        var configuration = configuration
        if let connections {
            configuration.idleTimeout = connections.idleTimeout
            configuration.streamConfiguration = .init(additionalChannelHandlers: [connections.requestTimer()])
        }
        self.connections = connections
        http1 = HTTP1Channel(responder: responder, configuration: configuration.streamConfiguration)
        http2 = HTTP2Channel(responder: responder, configuration: configuration)
        if var tls {
            tls.applicationProtocols = ["h2", "http/1.1"]
            self.tls = try NIOSSLContext(configuration: tls)
        } else {
            self.tls = nil
        }
        self.shutdownGrace = TimeAmount(shutdownGrace)
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let negotiation = NIOTypedApplicationProtocolNegotiationHandler<Negotiated> { result in
                switch result {
                case .negotiated("h2"): http2.setup(channel: channel, logger: logger).map { .http2($0) }
                default: http1.setup(channel: channel, logger: logger).map { .http1_1($0) }
                }
            }
            try channel.pipeline.syncOperations.addHandler(ShutdownDeadline(grace: shutdownGrace))
            if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
            if let connections { try channel.pipeline.syncOperations.addHandler(connections.admission()) }
            if tls == nil {
                try channel.pipeline.syncOperations.addHandler(HTTP2PrefaceSniffer())
            }
            try channel.pipeline.syncOperations.addHandler(negotiation)
            return Value(negotiated: negotiation.protocolNegotiationResult, channel: channel)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http1_1(let connection): await http1.handle(value: connection, logger: logger)
            case .http2(let connection): await http2.handle(value: connection, logger: logger)
            }
        } catch {
            logger.debug("HTTP version negotiation failed", metadata: ["error": "\(error)"])
        }
    }
}

/// Reads until the first bytes tell HTTP/2's preface from anything else, then reports the
/// choice as a TLS ALPN result ("h2", or none for HTTP/1.1) to the negotiation handler
/// after it, passes on what it read and leaves the pipeline.
final class HTTP2PrefaceSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    private var buffered: ByteBuffer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if var buffered {
            buffered.writeBuffer(&incoming)
            self.buffered = buffered
        } else {
            buffered = incoming
        }
        let seen = buffered!.readableBytesView.prefix(Self.preface.count)
        let isH2 = seen.elementsEqual(Self.preface)
        guard isH2 || !Self.preface.starts(with: seen) else { return } // a prefix so far: wait
        decide(context: context, protocol: isH2 ? "h2" : nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if buffered != nil { decide(context: context, protocol: nil) }
        context.fireChannelInactive()
    }

    private func decide(context: ChannelHandlerContext, protocol negotiated: String?) {
        context.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: negotiated))
        if let bytes = buffered {
            buffered = nil
            context.fireChannelRead(wrapInboundOut(bytes))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// Closes a connection `grace` after the server asked it to quiesce (shutdown), whatever
/// the protocol's own goodbye is still waiting for.
final class ShutdownDeadline: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    private let grace: TimeAmount

    init(grace: TimeAmount) { self.grace = grace }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            let channel = context.channel
            context.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }
}

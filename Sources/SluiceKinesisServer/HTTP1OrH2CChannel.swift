import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOHTTP2
import NIOTLS

/// HTTP/1.1 and HTTP/2 with prior knowledge (h2c) on one plain-text listener.
///
/// Why: the Java v2 async client (SubscribeToShard in KCL 2 and 3) and the JavaScript
/// SDK v3 speak HTTP/2 from the first byte on an `http://` endpoint; an HTTP/1.1-only
/// server answers them with garbage ("First received frame was not SETTINGS"). Hummingbird
/// serves one or the other on a port; this looks at a connection's first bytes (HTTP/2's
/// fixed 24-byte preface, RFC 9113 §3.4) and sets the connection up for the protocol it
/// speaks, through the same negotiation TLS's ALPN uses (`HTTP2UpgradeChannel`).
public struct HTTP1OrH2CChannel: HTTPChannelHandler {
    typealias Negotiated = NIONegotiatedHTTPVersion<HTTP1Channel.Value, HTTP2Channel.Value>

    public struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        public let channel: any Channel
    }

    private let http1: HTTP1Channel
    private let http2: HTTP2Channel
    public var responder: Responder { http1.responder }

    /// - Parameter configuration: HTTP/2's; its `streamConfiguration` is HTTP/1.1's too
    ///   (the handlers every request passes, on either protocol).
    public init(responder: @escaping Responder, configuration: HTTP2ChannelConfiguration) {
        http1 = HTTP1Channel(responder: responder, configuration: configuration.streamConfiguration)
        http2 = HTTP2Channel(responder: responder, configuration: configuration)
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let negotiation = NIOTypedApplicationProtocolNegotiationHandler<Negotiated> { result in
                switch result {
                case .negotiated("h2"): http2.setup(channel: channel, logger: logger).map { .http2($0) }
                default: http1.setup(channel: channel, logger: logger).map { .http1_1($0) }
                }
            }
            try channel.pipeline.syncOperations.addHandler(HTTP2PrefaceSniffer())
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

import NIOCore
import NIOEmbedded
import NIOTLS
import Testing
@testable import SluiceKinesisServer

/// The plain-text listener tells HTTP/2's preface from anything else by the first bytes,
/// however they are split, and passes every byte on.
@Suite struct HTTP2PrefaceSnifferTests {
    /// Records what the sniffer reports and passes on.
    final class Recorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var negotiated: [String?] = []
        var bytes: [UInt8] = []

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .handshakeCompleted(let negotiatedProtocol)? = event as? TLSUserEvent { negotiated.append(negotiatedProtocol) }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            bytes += Array(buffer: unwrapInboundIn(data))
        }
    }

    func sniff(_ chunks: [String]) throws -> (negotiated: [String?], bytes: String) {
        let recorder = Recorder()
        let channel = EmbeddedChannel(handlers: [HTTP2PrefaceSniffer(), recorder])
        for chunk in chunks { try channel.writeInbound(ByteBuffer(string: chunk)) }
        _ = try channel.finish()
        return (recorder.negotiated, String(decoding: recorder.bytes, as: UTF8.self))
    }

    @Test func thePrefaceMeansHTTP2EvenSplitByteByByte() throws {
        let preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        let whole = try sniff([preface + "frames"])
        #expect(whole.negotiated == ["h2"] && whole.bytes == preface + "frames")
        let split = try sniff(preface.map { String($0) } + ["frames"])
        #expect(split.negotiated == ["h2"] && split.bytes == preface + "frames")
    }

    @Test func anythingElseIsHTTP11FromItsFirstDifferentByte() throws {
        let post = try sniff(["P", "OST / HTTP/1.1\r\n"])
        #expect(post.negotiated == [nil] && post.bytes == "POST / HTTP/1.1\r\n")
        let get = try sniff(["GET /health HTTP/1.1\r\n\r\n"])
        #expect(get.negotiated == [nil] && get.bytes.hasPrefix("GET"))
    }

    @Test func aConnectionClosedMidPrefaceIsHandedOnAsHTTP11() throws {
        let cut = try sniff(["PRI * HTTP"])
        #expect(cut.negotiated == [nil] && cut.bytes == "PRI * HTTP")
    }
}

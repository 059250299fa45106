import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import NIOSSL
import SluiceConfiguration
import SluiceKinesis
import SluiceKinesisServer

extension SluiceConfig {
    /// HTTP/1.1 and HTTP/2 on one port: over TLS (when `[api] tls_cert_file` and
    /// `tls_key_file` are set) the client picks by ALPN ("h2" or "http/1.1"); in plain text
    /// HTTP/2 with prior knowledge (h2c) is told apart by its preface. Every request (an
    /// HTTP/2 stream, or an HTTP/1.1 connection) is counted and timed by `connections`;
    /// an idle HTTP/2 connection closes after the same idle timeout.
    /// - Throws: `ConfigError` naming the file that cannot be loaded.
    func apiServer(connections: ConnectionGuard) throws -> HTTPServerBuilder {
        let configuration = HTTP2ChannelConfiguration(
            idleTimeout: connections.idleTimeout,
            streamConfiguration: .init(additionalChannelHandlers: [connections.handler()])
        )
        guard let certFile = tlsCertFile, let keyFile = tlsKeyFile else {
            return HTTPServerBuilder { responder in HTTP1OrH2CChannel(responder: responder, configuration: configuration) }
        }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do { chain = try NIOSSLCertificate.fromPEMFile(certFile) } catch {
            throw ConfigError("[api] tls_cert_file: \"\(certFile)\" is not a readable PEM certificate chain (\(error))")
        }
        do { key = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch {
            throw ConfigError("[api] tls_key_file: \"\(keyFile)\" is not a readable PEM private key (\(error)); it must be readable by the sluice user")
        }
        let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        return try .http2Upgrade(tlsConfiguration: tls, configuration: configuration)
    }
}

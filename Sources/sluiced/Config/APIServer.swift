import Hummingbird
import HummingbirdCore
import NIOSSL
import SluiceConfiguration
import SluiceKinesis
import SluiceKinesisServer

extension SluiceConfig {
    /// HTTP/1.1 and HTTP/2 on one port: over TLS (when `[api] tls_cert_file` and
    /// `tls_key_file` are set) the client picks by ALPN ("h2" or "http/1.1"); in plain text
    /// HTTP/2 with prior knowledge (h2c) is told apart by its preface. Every connection is
    /// counted by `connections`, each HTTP/1.1 connection or HTTP/2 stream timed between
    /// requests, and an idle HTTP/2 connection closed after the same idle timeout.
    /// - Throws: `ConfigError` naming the file that cannot be loaded.
    func apiServer(connections: ConnectionGuard) throws -> HTTPServerBuilder {
        guard let certFile = tlsCertFile, let keyFile = tlsKeyFile else {
            return HTTPServerBuilder { responder in try HTTP1AndHTTP2Channel(responder: responder, connections: connections) }
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
        return HTTPServerBuilder { responder in try HTTP1AndHTTP2Channel(responder: responder, tls: tls, connections: connections) }
    }
}

import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import SluiceConfiguration
import SluiceKinesis
import SluiceKinesisServer

extension SluiceConfig {
    /// HTTP/1.1, over TLS when `[api] tls_cert_file` and `tls_key_file` are set, each
    /// connection counted and timed by `connections`.
    /// - Throws: `ConfigError` naming the file that cannot be loaded.
    func apiServer(connections: ConnectionGuard) throws -> HTTPServerBuilder {
        let http1 = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: [connections.handler()]))
        guard let certFile = tlsCertFile, let keyFile = tlsKeyFile else { return http1 }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do { chain = try NIOSSLCertificate.fromPEMFile(certFile) } catch {
            throw ConfigError("[api] tls_cert_file: \"\(certFile)\" is not a readable PEM certificate chain (\(error))")
        }
        do { key = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch {
            throw ConfigError("[api] tls_key_file: \"\(keyFile)\" is not a readable PEM private key (\(error)); it must be readable by the sluice user")
        }
        let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        return try .tls(http1, tlsConfiguration: tls)
    }
}

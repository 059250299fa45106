import CZlib
import CZstd

/// An object's compression (OBJECTS.md): gzip (one RFC 1952 member, zlib) or zstd (one
/// frame with its content size, libzstd); the output is what `gzip -t` / `zstd -t` accept.
public enum Compression: String, Sendable, CaseIterable {
    case none
    case gzip
    case zstd

    /// The file name extension the compressed object gets.
    public var fileExtension: String {
        switch self {
        case .none: ""
        case .gzip: ".gz"
        case .zstd: ".zst"
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The whole input, compressed.
    public func compress(_ input: [UInt8]) throws -> [UInt8] {
        switch self {
        case .none: return input
        case .gzip: return try Self.gzip(input)
        case .zstd: return try Self.zstd(input)
        }
    }

    private static func gzip(_ input: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        // 15 window bits + 16: a gzip header and trailer instead of zlib's.
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(description: "gzip: deflateInit2 failed")
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(input.count))) + 32
        var output = [UInt8](repeating: 0, count: bound)
        let status: Int32 = input.withUnsafeBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
                stream.avail_in = UInt32(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = UInt32(outBuffer.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw Failure(description: "gzip: deflate ended with \(status)") }
        output.removeLast(output.count - Int(stream.total_out))
        return output
    }

    private static func zstd(_ input: [UInt8]) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let written = input.withUnsafeBytes { inBuffer in
            output.withUnsafeMutableBytes { outBuffer in
                ZSTD_compress(outBuffer.baseAddress, outBuffer.count, inBuffer.baseAddress, inBuffer.count, 3)
            }
        }
        guard ZSTD_isError(written) == 0 else {
            throw Failure(description: "zstd: \(String(cString: ZSTD_getErrorName(written)))")
        }
        output.removeLast(output.count - written)
        return output
    }
}

/// Where objects are put whole: a local directory or an S3-compatible bucket. A `put`
/// that returns has the object in place under its key; one that throws left no object
/// visible under the key (a temporary file or an unfinished multipart upload at most,
/// which `removeLeftovers` clears at the next start).
public protocol ObjectStore: Sendable {
    /// For logs and status: `files in /mnt/usb`, `s3://bucket at https://…`; never a secret.
    var description: String { get }
    /// Firehose's metric name stem for deliveries into this store.
    var metricName: String { get }
    func put(key: String, content: [UInt8]) async throws
    /// Clears what a crash left of this export's objects (names starting with
    /// `<stream>-<export>-`).
    func removeLeftovers() async throws
    func shutdown() async
}

/// The constants of Kinesis' AWS JSON 1.1 protocol that a client and a server share.
public enum KinesisWire {
    /// `X-Amz-Target` is this prefix followed by the action's name.
    public static let targetPrefix = "Kinesis_20131202."
    public static let contentType = "application/x-amz-json-1.1"
}

import SluiceKinesis
import ArgumentParser

/// `sluice`: the command-line tool for a running sluiced (through its Kinesis API) and
/// for offline work on a data directory.
@main
struct Sluice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Talk to a running sluiced, or check its data offline.",
        subcommands: [StreamsCommand.self, PutCommand.self, ReadCommand.self, StatusCommand.self, ExportsCommand.self, VerifyCommand.self, RepairCommand.self, KeysCommand.self]
    )
}

/// Options every command that talks to sluiced shares.
struct EndpointOptions: ParsableArguments {
    @Option(name: .long, help: "sluiced's Kinesis API.")
    var endpoint = "http://127.0.0.1:4567"

    @Flag(name: .long, help: "Print JSON (one object per line) instead of text.")
    var json = false

    @Option(name: .long, help: "Sign requests with the credentials of this profile (for a sluiced with [auth]).")
    var profile: String?

    @Option(name: .long, help: "Sign requests with the credentials in this file (AWS credentials file format).")
    var credentialsFile: String?

    @Option(name: .long, help: "The region requests are signed for.")
    var region = "us-east-1"
}

import ArgumentParser

/// `sluice`: the command-line tool for a running sluiced (through its Kinesis API) and
/// for offline work on a data directory.
@main
struct Sluice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Talk to a running sluiced, or check its data offline.",
        subcommands: [StreamsCommand.self, PutCommand.self, ReadCommand.self, StatusCommand.self, VerifyCommand.self, RepairCommand.self, KeysCommand.self]
    )
}

/// Options every command that talks to sluiced shares.
struct EndpointOptions: ParsableArguments {
    @Option(name: .long, help: "sluiced's Kinesis API.")
    var endpoint = "http://127.0.0.1:4567"

    @Flag(name: .long, help: "Print JSON (one object per line) instead of text.")
    var json = false
}

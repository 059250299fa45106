import ArgumentParser
import SluiceKinesis

struct StreamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "Create, list, describe and delete streams.",
        subcommands: [Create.self, List.self, Describe.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a stream.")
        @OptionGroup var options: EndpointOptions
        @Argument(help: "The stream name.") var name: String
        @Option(name: .long, help: "Shard count (provisioned mode).") var shards: Int?
        @Flag(name: .long, help: "On-demand capacity mode (starts with 4 shards).") var onDemand = false

        func run() async throws {
            try await withClient(options) { client in
                try await client.createStream(name, shardCount: onDemand ? nil : (shards ?? 1), onDemand: onDemand)
                if options.json { Output.json(["StreamName": name, "Created": true]) } else { print("created \(name)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List streams.")
        @OptionGroup var options: EndpointOptions

        func run() async throws {
            try await withClient(options) { client in
                for stream in try await client.listStreams() {
                    if options.json {
                        Output.json(["StreamName": stream.StreamName, "StreamStatus": stream.StreamStatus,
                                     "StreamMode": stream.StreamModeDetails.StreamMode, "StreamARN": stream.StreamARN])
                    } else {
                        print("\(stream.StreamName)\t\(stream.StreamStatus)\t\(stream.StreamModeDetails.StreamMode)")
                    }
                }
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Describe a stream and its shards.")
        @OptionGroup var options: EndpointOptions
        @Argument(help: "The stream name.") var name: String

        func run() async throws {
            try await withClient(options) { client in
                let summary = try await client.describeStreamSummary(name)
                let shards = try await client.listShards(name)
                if options.json {
                    Output.json([
                        "StreamName": summary.StreamName, "StreamARN": summary.StreamARN, "StreamStatus": summary.StreamStatus,
                        "RetentionPeriodHours": summary.RetentionPeriodHours, "OpenShardCount": summary.OpenShardCount,
                        "EncryptionType": summary.EncryptionType,
                        "Shards": shards.map { ["ShardId": $0.ShardId, "StartingHashKey": $0.HashKeyRange.StartingHashKey,
                                                "EndingHashKey": $0.HashKeyRange.EndingHashKey,
                                                "Open": $0.SequenceNumberRange.EndingSequenceNumber == nil] },
                    ])
                    return
                }
                print("stream     \(summary.StreamName) (\(summary.StreamStatus), \(summary.StreamModeDetails.StreamMode))")
                print("arn        \(summary.StreamARN)")
                print("retention  \(summary.RetentionPeriodHours) h")
                print("encryption \(summary.EncryptionType)\(summary.KeyId.map { " (\($0))" } ?? "")")
                print("shards     \(summary.OpenShardCount) open, \(shards.count) in all")
                for shard in shards {
                    let state = shard.SequenceNumberRange.EndingSequenceNumber == nil ? "open" : "closed"
                    print("  \(shard.ShardId)  \(state)  \(shard.HashKeyRange.StartingHashKey) – \(shard.HashKeyRange.EndingHashKey)")
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a stream and all its records.")
        @OptionGroup var options: EndpointOptions
        @Argument(help: "The stream name.") var name: String

        func run() async throws {
            try await withClient(options) { client in
                try await client.deleteStream(name)
                if options.json { Output.json(["StreamName": name, "Deleted": true]) } else { print("deleted \(name)") }
            }
        }
    }
}

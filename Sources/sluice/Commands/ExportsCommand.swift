import ArgumentParser
import FoundationEssentials
import SluiceEngine
import SluiceExports
import SluiceKinesis
import SluiceStorage

/// `sluice exports`: list, pause and resume the exports of a running sluiced (its
/// `Sluice_20261130.*` actions; with `[auth]`, sign with --profile or --credentials-file).
struct ExportsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exports",
        abstract: "List, pause and resume a running sluiced's exports.",
        subcommands: [List.self, Pause.self, Resume.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each export's position, lag and deliveries.")
        @OptionGroup var options: EndpointOptions

        func run() async throws {
            let output = try await withClient(options) { client in
                try await client.call("ListExports", ExportControl.ExportRequest(), as: ExportControl.ListOutput.self, targetPrefix: ExportControl.targetPrefix)
            }
            for export in output.Exports { ExportsCommand.print(export, json: options.json) }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop an export where it stands (kept across restarts) until it is resumed.")
        @OptionGroup var options: EndpointOptions
        @Argument(help: "The export's name ([[exports]] name).") var name: String

        func run() async throws {
            let output = try await withClient(options) { client in
                try await client.call("PauseExport", ExportControl.ExportRequest(ExportName: name), as: ExportControl.ExportOutput.self, targetPrefix: ExportControl.targetPrefix)
            }
            ExportsCommand.print(output.Export, json: options.json)
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume an export; with --from, rewind it first (running or paused).")
        @OptionGroup var options: EndpointOptions
        @Argument(help: "The export's name ([[exports]] name).") var name: String
        @Option(help: "Start again from trim-horizon (the oldest record kept), latest (only new records) or at-timestamp.")
        var from: From?
        @Option(help: "With --from at-timestamp: seconds since the epoch, or an ISO 8601 time (2026-11-30T12:00:00Z).")
        var timestamp: String?

        enum From: String, ExpressibleByArgument, CaseIterable {
            case trimHorizon = "trim-horizon", latest, atTimestamp = "at-timestamp"
        }

        func validate() throws {
            if from == .atTimestamp, timestamp == nil { throw ValidationError("--from at-timestamp needs --timestamp") }
            if timestamp != nil, from != .atTimestamp { throw ValidationError("--timestamp applies to --from at-timestamp") }
            if let timestamp, Self.seconds(timestamp) == nil {
                throw ValidationError("--timestamp \(timestamp): give seconds since the epoch or an ISO 8601 time such as 2026-11-30T12:00:00Z")
            }
        }

        static func seconds(_ text: String) -> Double? {
            if let seconds = Double(text), seconds.isFinite, seconds >= 0 { return seconds }
            return Output.date(text)?.timeIntervalSince1970
        }

        func run() async throws {
            let request = ExportControl.ExportRequest(
                ExportName: name,
                From: from.map { ["trim-horizon": "TRIM_HORIZON", "latest": "LATEST", "at-timestamp": "AT_TIMESTAMP"][$0.rawValue]! },
                Timestamp: timestamp.flatMap(Self.seconds)
            )
            let output = try await withClient(options) { client in
                try await client.call("ResumeExport", request, as: ExportControl.ExportOutput.self, targetPrefix: ExportControl.targetPrefix)
            }
            ExportsCommand.print(output.Export, json: options.json)
        }
    }

    static func print(_ export: ExportStatus, json: Bool) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            Swift.print(String(decoding: (try? encoder.encode(export)) ?? Data(), as: UTF8.self))
            return
        }
        let state = export.consumer.paused ? "paused" : (export.lastError == nil ? "running" : "retrying")
        Swift.print("export \(export.name) (\(export.consumer.stream) -> \(export.destination)): \(state), \(export.deliveredRecords) records delivered, \(export.consumer.missedRecords) missed\(export.statistics.sorted { $0.key < $1.key }.map { ", \($0.value) \($0.key)" }.joined())")
        if let last = export.lastDelivered {
            Swift.print("  last delivered: \(last)\(export.dataFreshnessSeconds.map { " (oldest record \($0.fixed(1)) s old)" } ?? "")")
        }
        if let error = export.lastError { Swift.print("  last error: \(error)") }
        for shard in export.consumer.shards {
            Swift.print("  \(shard.shardId)  \(shard.finished ? "finished" : "\(shard.recordsBehind) records behind, iterator age \(shard.iteratorAgeMilliseconds) ms")")
        }
    }
}

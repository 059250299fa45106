import ArgumentParser
import FoundationEssentials
import SluiceEngine
import SluiceExports
import SluiceGateway
import SluiceKinesis
import SluiceStorage

/// `sluice status`: the gateway of a running sluiced, per shard and per tailed file.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show per-shard rates, spool depth and checkpoint lag of a running sluiced."
    )

    @OptionGroup var options: EndpointOptions

    func run() async throws {
        let body = try await withClient(options) { try await $0.get("/status") }
        if options.json {
            print(String(decoding: body, as: UTF8.self))
            return
        }
        let status = try JSONDecoder().decode(GatewayStatus.self, from: body)
        print("spool: \(bytes(status.spool.usedBytes)) of \(bytes(status.spool.maxBytes)) used, on_full = \(status.spool.onFull), \(status.spool.droppedRecords) records dropped")
        for stream in status.streams {
            print("")
            print("stream \(stream.name)  (\(stream.distinctKeys) distinct keys in the last window\(stream.hotKeys.isEmpty ? "" : "; hot: " + stream.hotKeys.joined(separator: ", ")))")
            print(pad(["SHARD", "STATE", "REC/S", "BYTES/S", "SPOOLED", "SPOOL", "DIRECT", "DRAINED", "DROPPED"]))
            for shard in stream.shards {
                print(pad([
                    shard.shardId, shard.open ? "open" : "closed", shard.recordsPerSecond.fixed(1), bytes(Int64(shard.bytesPerSecond)) + "/s",
                    "\(shard.spoolRecords)", bytes(shard.spoolBytes), "\(shard.directRecords)", "\(shard.drainedRecords)", "\(shard.droppedRecords)",
                ]))
            }
        }
        for storage in status.storage ?? [] {
            print("")
            let bound = storage.maxBytes.map { " of max_bytes \(bytes($0)) (on_full = \(storage.onFull ?? "reject"))" } ?? ""
            print("storage \(storage.stream): \(storage.records) records, \(bytes(storage.bytes))\(bound); \(storage.droppedRecords) records (\(bytes(storage.droppedBytes))) dropped, \(storage.rejectedRecords) rejected")
        }
        for export in status.exports ?? [] {
            print("")
            ExportsCommand.print(export, json: false)
        }
        for function in status.functions ?? [] {
            print("")
            print(Self.describe(function))
        }
        for source in status.sources {
            print("")
            let lag = source.kind == "file" ? ", lag \(bytes(source.lagBytes))" : ""
            print("source \(source.name) (\(source.kind) -> \(source.stream)): \(source.records) records, \(source.parseErrors) parse errors, \(source.truncated) truncated, \(source.dropped) dropped, \(source.keyFallbacks) fallback keys\(lag)")
            if let c = source.connection {
                print("  \(c.broker) as \(c.clientId): \(c.state), \(c.connects) connects, session present \(c.sessionPresent), \(c.subscribed ? "subscribed" : "not subscribed yet"), \(c.inFlightMessages) in flight\(c.lastError.map { ", last error: " + $0 } ?? "")")
            }
            for file in source.files {
                print("  \(file.path)  checkpoint \(file.checkpoint) of \(file.size) bytes, lag \(bytes(file.lagBytes))")
            }
        }
    }

    /// A function's lines: counts, the last error, and lag per shard.
    static func describe(_ function: FunctionStatus) -> String {
        let behind = function.consumer.shards.reduce(UInt64(0)) { $0 + $1.recordsBehind }
        let age = function.consumer.shards.map(\.iteratorAgeMilliseconds).max() ?? 0
        var lines = [
            "function \(function.name) (\(function.consumer.stream) -> \(function.handler))\(function.consumer.paused ? " paused" : ""): "
                + "\(function.invocations) invocations, \(function.errors) errors, \(function.throttles) throttles; records: "
                + "\(function.succeededRecords) succeeded, \(function.filteredOutRecords) filtered out, \(function.droppedRecords) dropped, "
                + "\(function.expiredRecords) expired; lag \(behind) records, iterator age \(age) ms",
        ]
        if let error = function.lastError { lines.append("  last error: \(error)") }
        for shard in function.consumer.shards where !shard.finished {
            lines.append("  \(shard.shardId)  next \(shard.nextSequenceNumber)  behind \(shard.recordsBehind)  age \(shard.iteratorAgeMilliseconds) ms")
        }
        return lines.joined(separator: "\n")
    }

    private func pad(_ columns: [String]) -> String {
        let widths = [22, 7, 9, 12, 9, 10, 10, 10, 9]
        return zip(columns, widths).map { $0 + String(repeating: " ", count: max($1 - $0.count, 1)) }.joined()
    }

    private func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : value.fixed(1) + " " + units[unit]
    }
}

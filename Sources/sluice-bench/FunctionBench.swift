import ArgumentParser
import Foundation
import Hummingbird
import Logging
import SluiceEngine
import SluiceFunctions

/// `sluice-bench function`: records per second through `[[functions]]` handlers, of a
/// stream filled beforehand, against the rate the engine appends the same records
/// in-process (the baseline, same run):
/// - a trivial command handler (`sh -c 'exec cat >/dev/null'`: one process per batch that
///   reads the event and answers nothing), Lambda's default batch size 100 and 1,000,
///   one lane and four per shard;
/// - an HTTP handler on loopback (answers 200 with no body), the same shapes.
struct FunctionBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "function", abstract: "Functions: records/s through a command handler and an HTTP handler against the append rate.")
    @Option(help: "Records per shape.") var records = 100_000
    @Option(help: "Bytes of data per record.") var recordSize = 100
    @Option(help: "Shards of the stream.") var shards = 4

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let load = BenchLoad(records: records, recordSize: recordSize, shards: shards)
        let append = try await load.appendRate(logger: logger)
        let (url, server) = try await Self.serveHandler(logger: logger)
        defer { server.cancel() }
        for handler in [FunctionSettings.Handler.command(["/bin/sh", "-c", "exec cat >/dev/null"]), .url(url)] {
            for (batchSize, lanes) in [(100, 1), (1_000, 1), (100, 4)] {
                let rate = try await rate(load, handler: handler, batchSize: batchSize, lanes: lanes, logger: logger)
                let name = if case .command = handler { "command (sh -c 'exec cat >/dev/null')" } else { "HTTP handler (loopback)" }
                print(String(format: "function %@: batch_size %d, parallelization_factor %d, %d B records, %d shards: %.0f records/s; in-process append %.0f records/s; ratio %.3f",
                             name, batchSize, lanes, recordSize, shards, rate, append, rate / append))
            }
        }
    }

    /// Records per second a function processes of a stream filled beforehand.
    private func rate(_ load: BenchLoad, handler: FunctionSettings.Handler, batchSize: Int, lanes: Int, logger: Logger) async throws -> Double {
        let (engine, directory) = try await load.filled("function", logger: logger)
        var settings = FunctionSettings(name: "bench", stream: "bench", handler: handler)
        settings.batchSize = batchSize
        settings.parallelizationFactor = lanes
        settings.timeout = .seconds(60)
        let functionHandler: any FunctionHandler = switch handler {
        case .command(let command): CommandHandler(command: command, settings: settings, logger: logger)
        case .url(let url): URLHandler(url: url, settings: settings)
        }
        let function = FunctionRunner(
            settings: settings, consumer: try engine.reader.durableConsumer(stream: "bench", name: settings.consumerName, logger: logger),
            handler: functionHandler, failureSink: nil, logger: logger
        )
        let start = ContinuousClock.now
        let running = Task { await function.run() }
        while function.status().succeededRecords < UInt64(load.records) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        running.cancel()
        await running.value
        await engine.close()
        try? FileManager.default.removeItem(atPath: directory)
        return Double(load.records) / seconds
    }

    /// A handler that takes the event and answers 200 with no body.
    private static func serveHandler(logger: Logger) async throws -> (String, Task<Void, any Error>) {
        let router = Router()
        router.post("/") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 16 << 20)
            return Response(status: .ok)
        }
        let (base, task) = try await LoopbackServer.serve(router, logger: logger)
        return (base + "/", task)
    }
}

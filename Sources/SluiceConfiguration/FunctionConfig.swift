import FoundationEssentials
import Logging
import SluiceEngine
import SluiceFunctions
import TOMLKit

/// `[[functions]]`: a local handler run on a stream's batches with Lambda's event source
/// mapping settings, under their names (snake_case), ranges and defaults.
package struct FunctionConfig: Equatable {
    package var settings: FunctionSettings
    package var start: ConsumerStart
    package var enabled = true
    /// `on_failure = { export = "NAME" }`: failure records go to that export's destination.
    package var onFailureExport: String?
    /// Where the entry is, for messages: `[[functions]] #2 (alerts)`.
    package var location: String

    package static func parse(_ section: TOMLSection, file: String) throws -> FunctionConfig {
        guard let name = try section.string("name") else {
            throw ConfigError("\(file): \(section.path): name is required (it names the function's position on disk; keep it stable)", code: .missingKey)
        }
        let location = "\(file): \(section.path) (\(name))"
        guard (1...64).contains(name.utf8.count), name.utf8.allSatisfy({ nameBytes.contains($0) }) else {
            throw ConfigError("\(location) name: use 1–64 characters from [a-zA-Z0-9_-] (Lambda's function names)")
        }
        guard let stream = try section.string("stream") else {
            throw ConfigError("\(location): stream is required (the local stream whose records the function gets)", code: .missingKey)
        }
        let command = try section.command("command")
        let url = try section.string("url")
        let handler: FunctionSettings.Handler
        switch (command, url) {
        case (let command?, nil):
            guard command[0].hasPrefix("/") else {
                throw ConfigError("\(location) command: start with the program's absolute path, e.g. [\"/usr/bin/python3\", \"/usr/lib/sluice/sluice_lambda_runner.py\", \"handler.main\"]")
            }
            handler = .command(command)
        case (nil, let url?):
            guard url.hasPrefix("https://") || url.hasPrefix("http://"), URL(string: url)?.host != nil else {
                throw ConfigError("\(location) url: \"\(url)\" must be an http:// or https:// URL")
            }
            handler = .url(url)
        case (.some, .some):
            throw ConfigError("\(location): give command or url, not both", code: .conflict)
        case (nil, nil):
            throw ConfigError("\(location): give command (a program run per batch) or url (an HTTP handler POSTed per batch)")
        }
        var settings = FunctionSettings(name: name, stream: stream, handler: handler)
        settings.batchSize = try section.int("batch_size", range: 1...10_000) ?? settings.batchSize
        settings.batchingWindow = .seconds(try section.int("batching_window_seconds", range: 0...300) ?? 0)
        settings.parallelizationFactor = try section.int("parallelization_factor", range: 1...10) ?? settings.parallelizationFactor
        settings.bisectBatchOnFunctionError = try section.bool("bisect_batch_on_function_error") ?? false
        settings.maximumRetryAttempts = try section.int("maximum_retry_attempts", range: -1...10_000) ?? settings.maximumRetryAttempts
        if let age = try section.int("maximum_record_age_seconds", range: -1...604_800) {
            guard age == -1 || age >= 60 else {
                throw ConfigError("\(location) maximum_record_age_seconds: \(age) is out of range; use -1 (no limit) or 60...604800")
            }
            settings.maximumRecordAgeSeconds = age
        }
        var onFailureExport: String?
        if section.table["on_failure"]?.table != nil, let target = try section.section("on_failure") {
            let toStream = try target.string("stream"), toExport = try target.string("export")
            try target.rejectUnknownKeys(hint: "on_failure takes stream = \"NAME\" or export = \"NAME\"")
            guard (toStream == nil) != (toExport == nil) else {
                throw ConfigError("\(location) on_failure: give stream = \"NAME\" (a local stream) or export = \"NAME\" (an [[exports]] entry's destination), one of them", code: .conflict)
            }
            settings.onFailureStream = toStream
            onFailureExport = toExport
        } else {
            settings.onFailureStream = try section.string("on_failure")
        }
        if settings.onFailureStream == stream {
            throw ConfigError("\(location) on_failure: \"\(stream)\" is the function's own stream; failure records would be processed as input. Name another stream")
        }
        if let types = try section.strings("function_response_types") {
            for type in types where type != "ReportBatchItemFailures" {
                throw ConfigError("\(location) function_response_types: \"\(type)\" is not a response type; the one there is is \"ReportBatchItemFailures\"")
            }
            settings.reportBatchItemFailures = !types.isEmpty
        }
        if let patterns = try section.strings("filter_criteria") {
            guard patterns.count <= FilterPattern.maxPatterns else {
                throw ConfigError("\(location) filter_criteria: \(patterns.count) patterns; Lambda allows at most \(FilterPattern.maxPatterns) (a record runs when it matches any)")
            }
            settings.filters = try patterns.enumerated().map { k, text in
                do { return try FilterPattern(text) } catch {
                    throw ConfigError("\(location) filter_criteria pattern \(k + 1): \(error)")
                }
            }
        }
        settings.tumblingWindowSeconds = try section.int("tumbling_window_seconds", range: 0...900) ?? 0
        settings.timeout = .seconds(try section.int("timeout_seconds", range: 1...900) ?? 3)
        settings.environment = try section.stringTable("environment") ?? [:]
        for key in settings.environment.keys where key.isEmpty || key.contains("=") || key.utf8.contains(0) {
            throw ConfigError("\(location) environment: \"\(key)\" is not a variable name")
        }
        settings.reservedConcurrency = try section.int("reserved_concurrency", range: 1...1_000)
        let enabled = try section.bool("enabled") ?? true
        let start = try parseStart(section, location: location)
        try section.rejectUnknownKeys(hint: "keys of [[functions]] are listed in config/sluice.toml")
        return FunctionConfig(settings: settings, start: start, enabled: enabled, onFailureExport: onFailureExport, location: location)
    }

    /// Lambda's StartingPosition: required, as it is there.
    private static func parseStart(_ section: TOMLSection, location: String) throws -> ConsumerStart {
        let timestamp = try section.int("starting_position_timestamp", range: 0...253_402_300_799)
        guard let position = try section.choice("starting_position", ["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"]) else {
            throw ConfigError("\(location): starting_position is required: \"TRIM_HORIZON\" (all records kept), \"LATEST\" (from now) or \"AT_TIMESTAMP\"", code: .missingKey)
        }
        if position == "AT_TIMESTAMP" {
            guard let timestamp else {
                throw ConfigError("\(location): starting_position = \"AT_TIMESTAMP\" needs starting_position_timestamp (seconds since the epoch)")
            }
            return .atTimestamp(millis: Int64(timestamp) * 1000)
        }
        if timestamp != nil {
            throw ConfigError("\(location) starting_position_timestamp: applies to starting_position = \"AT_TIMESTAMP\" only")
        }
        return position == "LATEST" ? .latest : .trimHorizon
    }

    private static let nameBytes: Set<UInt8> = Set(Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-".utf8))

    /// The function, its consumer opened on `engine`.
    /// - Parameter exports: the config's exports (an `on_failure` export is built anew: the
    ///   same destination, its objects named after the function).
    package func makeRunner(engine: StreamEngine, region: String, accountId: String, exports: [ExportConfig], logger: Logger) throws -> FunctionRunner {
        var settings = self.settings
        settings.region = region
        settings.accountId = accountId
        let consumer = try engine.reader.durableConsumer(stream: settings.stream, name: settings.consumerName, start: start, logger: logger)
        let handler: any FunctionHandler = switch settings.handler {
        case .command(let command): CommandHandler(command: command, settings: settings, logger: logger)
        case .url(let url): URLHandler(url: url, settings: settings)
        }
        var sink: (any FailureSink)? = settings.onFailureStream.map { StreamFailureSink(engine: engine, stream: $0, logger: logger) }
        if let name = onFailureExport {
            guard let export = exports.first(where: { $0.name == name }) else {
                throw ConfigError("\(location) on_failure: no [[exports]] entry is named \"\(name)\"")
            }
            let label = settings.consumerName
            sink = ExportFailureSink(
                destination: try export.makeDestination(engine: engine, objectsNamedFor: label, logger: logger), label: label,
                clock: { [consumer] in consumer.nowMillis() }
            )
        }
        logger.info("function configured", metadata: [
            "function": "\(settings.name)", "stream": "\(settings.stream)", "handler": "\(settings.handler)",
            "batch_size": "\(settings.batchSize)", "on_failure": "\(settings.onFailureStream ?? onFailureExport.map { "export \($0)" } ?? "none")",
        ])
        return FunctionRunner(settings: settings, consumer: consumer, handler: handler, failureSink: sink, logger: logger)
    }
}

import ArgumentParser
import FoundationEssentials
import SluiceEngine
import SluiceStorage

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every frame of a data directory offline (sluiced may be stopped or running).",
        discussion: "Exits 0 when every segment is intact, 1 when anything is damaged or quarantined."
    )

    @Argument(help: "sluiced's data_dir.") var dataDirectory: String
    @Flag(name: .long, help: "Print the summary as JSON.") var json = false
    @Option(name: .long, help: "The key file: also authenticate every encrypted frame (without it, CRCs only).")
    var keyFile: String?

    func run() async throws {
        var summary: DataDirectoryVerifier.Summary
        do {
            let keys = try keyFile.map { try LocalKeyFile.load(path: $0).provider }
            summary = try DataDirectoryVerifier(keys: keys).verify(dataDirectory: dataDirectory)
            // What the start itself would refuse or quarantine, in its words.
            for (file, message) in try StreamDirectoryCheck.findings(dataDirectory: dataDirectory) {
                summary.findings.append(.init(severity: .damage, file: file, message: message))
            }
        } catch {
            Output.failure(error)
        }
        if json {
            Output.json([
                "streams": summary.streams, "shards": summary.shards, "segments": summary.segments,
                "frames": summary.frames, "records": summary.records, "bytes": summary.bytes, "clean": summary.isClean,
                "findings": summary.findings.map { finding -> [String: Any] in
                    var object: [String: Any] = ["severity": finding.severity.rawValue, "file": finding.file, "message": finding.message]
                    if let position = finding.position { object["position"] = position }
                    return object
                },
            ])
        } else {
            print("\(summary.streams) streams, \(summary.shards) shards, \(summary.segments) segments, \(summary.frames) frames, \(summary.records) records, \(summary.bytes) bytes")
            for finding in summary.findings {
                print("\(finding.severity.rawValue): \(finding.file)\(finding.position.map { " at byte \($0)" } ?? ""): \(finding.message)")
            }
            print(summary.isClean ? "OK" : "DAMAGED")
        }
        if !summary.isClean { throw ExitCode(1) }
    }
}

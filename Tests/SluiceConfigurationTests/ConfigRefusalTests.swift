import Foundation
import Testing
@testable import SluiceConfiguration

/// Every refusal the config file can earn at parse time, each with the words an operator
/// needs: the file, the entry and key, what is wrong and what to write instead. (What
/// needs the data directory or the network — undeclared streams, ports — is the start's
/// preflight, tested against the real sluiced in test_check_config.py.)
@Suite struct ConfigRefusalTests {
    static let stream = "[[streams]]\nname = \"s\"\nshards = 1\n"
    static let file = "[[sources.file]]\nstream = \"s\"\npaths = [\"/var/log/a.log\"]\n"
    static let mqtt = "[[sources.mqtt]]\nstream = \"s\"\nbroker = \"mqtt://127.0.0.1:1883\"\ntopics = [\"d/{device}\"]\n"
    static let kinesisExport = stream + "[[exports]]\nname = \"e\"\nstream = \"s\"\nkind = \"kinesis\"\n"
    static let filesExport = stream + "[[exports]]\nname = \"f\"\nstream = \"s\"\nkind = \"files\"\ndirectory = \"/srv/out\"\n"
    static let httpExport = stream + "[[exports]]\nname = \"h\"\nstream = \"s\"\nkind = \"http\"\n"
    static let function = stream + "[[functions]]\nname = \"fn\"\nstream = \"s\"\nstarting_position = \"LATEST\"\n"

    /// (what, config, words the refusal must carry).
    static let cases: [(String, String, String)] = [
        // The file and its top level.
        ("not TOML", "data_dir = \n", "sluice.toml:1:"),
        ("relative data_dir", "data_dir = \"var/lib/sluice\"\n", "data_dir: use an absolute path (got \"var/lib/sluice\")"),
        ("unknown top-level key", "colour = \"blue\"\n", "colour: unknown key; known keys are data_dir"),
        ("a string where a number goes", "[api]\nmax_connections = \"many\"\n", "[api] max_connections: expected a whole number"),
        ("a number out of range", "[api]\nmax_connections = 2\n", "max_connections: 2 is out of range; use 16...1000000"),
        ("not true or false", "[api]\nallow_unauthenticated = \"yes\"\n", "allow_unauthenticated: expected true or false"),
        ("a choice not offered", "log_level = \"loud\"\n", "log_level: \"loud\" is not one of \"trace\""),
        ("a table where a value goes", "api = 3\n", "api: expected a table: [api]"),
        ("an entry that is not a table", "streams = [1]\n", "streams: entry 1 is not a table"),
        ("a value where tables go", "streams = 1\n", "streams: expected an array of tables: [[streams]]"),
        // [api]
        ("listen without a port", "[api]\nlisten = \"127.0.0.1\"\n", "[api] listen: expected \"HOST:PORT\" such as \"127.0.0.1:4567\""),
        ("a TLS certificate without its key", "[api]\ntls_cert_file = \"/etc/c.pem\"\n", "tls_cert_file and tls_key_file: give both"),
        ("listening beyond loopback without [auth]", "[api]\nlisten = \"0.0.0.0:4567\"\n", "is reachable beyond this machine and the API has no access control; add [auth]"),
        ("unknown [api] key", "[api]\nport = 1\n", "[api] port: unknown key"),
        ("[auth] without a file", "[auth]\n", "[auth] credentials_file: required"),
        // [encryption], [storage], [engine]
        ("[encryption] without a key file", "[encryption]\n", "[encryption] key_file is required (remove the section to run without encryption)"),
        ("fsync mode not offered", "[storage]\nfsync = \"never\"\n", "fsync: \"never\" is not one of \"always\", \"interval\""),
        ("segments below 1 MiB", "[storage]\nsegment_max_bytes = 1000\n", "segment_max_bytes: 1000 is out of range"),
        ("retention check of zero", "[engine]\nshard_limit = 0\n", "shard_limit: 0 is out of range"),
        // [[streams]]
        ("a stream without a name", "[[streams]]\nshards = 1\n", "name is required"),
        ("a provisioned stream without shards", "[[streams]]\nname = \"s\"\n", "(s): shards is required for a provisioned stream"),
        ("a stream listed twice", stream + stream, "stream \"s\" is listed twice"),
        ("too many shards", "[[streams]]\nname = \"s\"\nshards = 20000\n", "shards: 20000 is out of range; use 1...10000"),
        ("retention under 24 hours", "[[streams]]\nname = \"s\"\nshards = 1\nretention_hours = 2\n", "retention_hours: 2 is out of range; use 24...8760"),
        ("on_full without max_bytes", "[[streams]]\nname = \"s\"\nshards = 1\non_full = \"reject\"\n", "on_full: applies with max_bytes only; set max_bytes too"),
        ("max_bytes below four segments", "[[streams]]\nname = \"s\"\nshards = 1\nmax_bytes = 1000\n", "max_bytes: 1000 is less than 4 segments"),
        ("unknown stream key", "[[streams]]\nname = \"s\"\nshards = 1\nreplicas = 3\n", "replicas: unknown key"),
        // Sources: what every source shares.
        ("a source without a stream", "[[sources.file]]\npaths = [\"/a.log\"]\n", "stream: required (the stream records go to)"),
        ("a source named like a path", file + "name = \"../x\"\n", "name: \"../x\" may use letters, digits, '-', '_' and '.' only"),
        ("an empty fallback key", file + "partition_key_fallback = \"\"\n", "partition_key_fallback: must be 1 to 256 characters"),
        ("a relative device map", file + "device_map_file = \"map.csv\"\n", "device_map_file: \"map.csv\" is relative; use an absolute path"),
        ("csv without columns", file + "parser = \"csv\"\n", "csv_columns: required with parser = \"csv\""),
        ("a two-character csv delimiter", file + "parser = \"csv\"\ncsv_columns = [\"a\"]\ncsv_delimiter = \";;\"\n", "csv_delimiter: must be one ASCII character"),
        ("a parser not offered", file + "parser = \"xml\"\n", "parser: \"xml\" is not one of"),
        ("buckets out of range", file + "partition_key_buckets = 0\n", "partition_key_buckets: 0 is out of range"),
        ("a partition key template that does not close", file + "partition_key = \"{json.id\"\n", "partition_key:"),
        ("two sources with one name", file + "name = \"a\"\n" + file + "name = \"a\"\n", "two sources share the name \"a\""),
        ("an unknown kind of source", "[[sources.syslog]]\nstream = \"s\"\n", "syslog: unknown key; sources are [[sources.file]] and [[sources.mqtt]]"),
        // [[sources.file]]
        ("a file source without paths", "[[sources.file]]\nstream = \"s\"\n", "paths: required, e.g. [\"/var/log/app/*.log\"]"),
        ("empty paths", "[[sources.file]]\nstream = \"s\"\npaths = []\n", "paths: must list at least one entry"),
        ("a relative path", "[[sources.file]]\nstream = \"s\"\npaths = [\"app.log\"]\n", "paths: \"app.log\" is relative; use an absolute path"),
        ("a multi-line start that is no regex", file + "multiline_start = \"(\"\n", "multiline_start: \"(\" is not a valid regular expression"),
        ("paths that are not strings", "[[sources.file]]\nstream = \"s\"\npaths = [1]\n", "paths: expected an array of strings"),
        // [[sources.mqtt]]
        ("an MQTT source without a broker", "[[sources.mqtt]]\nstream = \"s\"\ntopics = [\"a\"]\n", "broker: required, e.g. \"mqtt://127.0.0.1:1883\""),
        ("a broker that is no URL", "[[sources.mqtt]]\nstream = \"s\"\nbroker = \"ftp://x\"\ntopics = [\"a\"]\n", "[[sources.mqtt]]"),
        ("an MQTT source without topics", "[[sources.mqtt]]\nstream = \"s\"\nbroker = \"mqtt://127.0.0.1:1883\"\n", "topics: required"),
        ("a topic filter with # inside", "[[sources.mqtt]]\nstream = \"s\"\nbroker = \"mqtt://127.0.0.1:1883\"\ntopics = [\"a/#/b\"]\n", "topics:"),
        ("an empty client id", mqtt + "client_id = \"\"\n", "client_id: must not be empty"),
        ("password and password_file", mqtt + "username = \"u\"\npassword = \"p\"\npassword_file = \"/p\"\n", "password and password_file: give one of them"),
        ("a password without a user", mqtt + "password = \"p\"\n", "username: required with a password"),
        ("a certificate without its key", mqtt + "cert_file = \"/c.pem\"\n", "cert_file and key_file: give both"),
        ("TLS files for a plain broker", mqtt + "ca_file = \"/ca.pem\"\n", "need a TLS broker: write broker = \"mqtts://127.0.0.1:8883\""),
        ("a JSON key without the JSON parser", mqtt + "partition_key = \"{json.id}\"\n", "reads a JSON field but parser is \"raw\"; set parser = \"json\""),
        ("two sources with one client id", mqtt + "client_id = \"c\"\nname = \"a\"\n" + mqtt + "client_id = \"c\"\nname = \"b\"\n", "client_id: \"c\" is used by another source on the same broker"),
        // [[exports]]
        ("an export without a name", stream + "[[exports]]\nstream = \"s\"\nkind = \"kinesis\"\n", "name is required (it names the export's position on disk"),
        ("an export named like a path", stream + "[[exports]]\nname = \"../x\"\nstream = \"s\"\nkind = \"kinesis\"\n", "name: use 1–128 characters from [a-zA-Z0-9_.-]"),
        ("an export without a stream", "[[exports]]\nname = \"e\"\nkind = \"kinesis\"\n", "stream is required (the local stream to export)"),
        ("an export without a kind", stream + "[[exports]]\nname = \"e\"\nstream = \"s\"\n", "kind is required; kinds are"),
        ("at_timestamp without a time", kinesisExport + "starting_position = \"at_timestamp\"\n", "needs starting_timestamp (seconds since the epoch)"),
        ("a time without at_timestamp", kinesisExport + "starting_timestamp = 5\n", "starting_timestamp: applies to starting_position = \"at_timestamp\" only"),
        ("a remote endpoint that is no URL", kinesisExport + "endpoint = \"kinesis.local\"\n", "endpoint: \"kinesis.local\" must start with https://"),
        ("two exports with one name", kinesisExport + "[[exports]]\nname = \"e\"\nstream = \"s\"\nkind = \"kinesis\"\n", "two exports share the name \"e\""),
        ("a files export without a directory", stream + "[[exports]]\nname = \"f\"\nstream = \"s\"\nkind = \"files\"\n", "directory is required for kind = \"files\""),
        ("a relative export directory", stream + "[[exports]]\nname = \"f\"\nstream = \"s\"\nkind = \"files\"\ndirectory = \"out\"\n", "directory: use an absolute path (got \"out\")"),
        ("an s3 export without a bucket", stream + "[[exports]]\nname = \"b\"\nstream = \"s\"\nkind = \"s3\"\n", "bucket is required for kind = \"s3\""),
        ("a bucket name that is not one", stream + "[[exports]]\nname = \"b\"\nstream = \"s\"\nkind = \"s3\"\nbucket = \"Bad_Bucket\"\n", "bucket: \"Bad_Bucket\" is not a bucket name"),
        ("an s3 endpoint that is no URL", stream + "[[exports]]\nname = \"b\"\nstream = \"s\"\nkind = \"s3\"\nbucket = \"bkt\"\nendpoint = \"minio:9000\"\n", "endpoint: \"minio:9000\" must start with https://"),
        ("an http export without a url", httpExport, "url is required for kind = \"http\""),
        ("an http url that is no URL", httpExport + "url = \"receiver\"\n", "url: \"receiver\" must be an https:// URL"),
        ("a delimiter with json_lines", filesExport + "record_format = \"json_lines\"\ndelimiter = \"newline\"\n", "json_lines ends every record with a newline already; remove delimiter"),
        ("a partition key name that is not one", filesExport + "partition_keys = { \"a b\" = \"json.x\" }\nprefix = \"!{partitionKeyFromQuery:a b}/\"\n", "partition_keys: \"a b\" is not a partition key name"),
        ("a prefix naming an unknown partition key", filesExport + "prefix = \"!{partitionKeyFromQuery:site}/\"\n", "names no key of partition_keys; add site = \"json.FIELD\""),
        ("a partition key unused in the prefix", filesExport + "partition_keys = { site = \"json.site\" }\n", "partition_keys: site is not used in prefix"),
        ("partitions in the error prefix", filesExport + "error_prefix = \"!{timestamp:yyyy}/!{partitionKeyFromQuery:x}/\"\n", "error_prefix"),
        ("the error type in the data prefix", filesExport + "prefix = \"!{firehose:error-output-type}/\"\n", "!{firehose:error-output-type} belongs in error_prefix"),
        ("one prefix for data and errors", filesExport + "prefix = \"p/\"\nerror_prefix = \"p/\"\n", "prefix, error_prefix and backup_prefix must differ"),
        ("a transform by a relative path", filesExport + "transform_command = \"transform.py\"\n", "transform_command: start with the program's absolute path"),
        ("a transform without a backup store", httpExport + "url = \"http://127.0.0.1:9/\"\ntransform_command = [\"/bin/cat\"]\n", "need [exports.backup_store]"),
        ("a prefix that leaves its directory", filesExport + "prefix = \"../up/\"\n", "no . or .. component"),
        ("a kinesis key on a files export", filesExport + "region = \"eu-west-1\"\n", "region: unknown key"),
        // [[functions]]
        ("a function without a name", stream + "[[functions]]\nstream = \"s\"\ncommand = \"/bin/cat\"\nstarting_position = \"LATEST\"\n", "name is required (it names the function's position on disk"),
        ("a function named like a path", stream + "[[functions]]\nname = \"a/b\"\nstream = \"s\"\ncommand = \"/bin/cat\"\nstarting_position = \"LATEST\"\n", "name: use 1–64 characters from [a-zA-Z0-9_-]"),
        ("a function without a stream", "[[functions]]\nname = \"fn\"\ncommand = \"/bin/cat\"\nstarting_position = \"LATEST\"\n", "stream is required (the local stream whose records the function gets)"),
        ("a command by a relative path", function + "command = \"handler.py\"\n", "command: start with the program's absolute path"),
        ("a handler url that is no URL", function + "url = \"handler\"\n", "url: \"handler\" must be an http:// or https:// URL"),
        ("both command and url", function + "command = \"/bin/cat\"\nurl = \"http://127.0.0.1:9/\"\n", "give command or url, not both"),
        ("neither command nor url", function, "give command (a program run per batch) or url"),
        ("a batch size over Lambda's", function + "command = \"/bin/cat\"\nbatch_size = 20000\n", "batch_size: 20000 is out of range; use 1...10000"),
        ("a record age below Lambda's minimum", function + "command = \"/bin/cat\"\nmaximum_record_age_seconds = 30\n", "use -1 (no limit) or 60...604800"),
        ("on_failure with both targets", function + "command = \"/bin/cat\"\non_failure = { stream = \"a\", export = \"b\" }\n", "on_failure: give stream = \"NAME\" (a local stream) or export = \"NAME\""),
        ("on_failure to the function's own stream", function + "command = \"/bin/cat\"\non_failure = \"s\"\n", "is the function's own stream; failure records would be processed as input"),
        ("an unknown response type", function + "command = \"/bin/cat\"\nfunction_response_types = [\"Partial\"]\n", "function_response_types: \"Partial\" is not a response type"),
        ("six filter patterns", function + "command = \"/bin/cat\"\nfilter_criteria = [\"{}\", \"{}\", \"{}\", \"{}\", \"{}\", \"{}\"]\n", "filter_criteria: 6 patterns; Lambda allows at most 5"),
        ("a filter pattern that is not one", function + "command = \"/bin/cat\"\nfilter_criteria = ['{\"data\": {\"t\": [{\"numeric\": [\"!\", 1]}]}}']\n", "filter_criteria pattern 1:"),
        ("an environment name that is not one", function + "command = \"/bin/cat\"\nenvironment = { \"A=B\" = \"1\" }\n", "environment: \"A=B\" is not a variable name"),
        ("a function without a starting position", stream + "[[functions]]\nname = \"fn\"\nstream = \"s\"\ncommand = \"/bin/cat\"\n", "starting_position is required: \"TRIM_HORIZON\""),
        ("AT_TIMESTAMP without a time", stream + "[[functions]]\nname = \"fn\"\nstream = \"s\"\ncommand = \"/bin/cat\"\nstarting_position = \"AT_TIMESTAMP\"\n", "needs starting_position_timestamp"),
        ("a time without AT_TIMESTAMP", function + "command = \"/bin/cat\"\nstarting_position_timestamp = 5\n", "starting_position_timestamp: applies to starting_position = \"AT_TIMESTAMP\" only"),
        ("two functions with one name", function + "command = \"/bin/cat\"\n[[functions]]\nname = \"fn\"\nstream = \"s\"\ncommand = \"/bin/cat\"\nstarting_position = \"LATEST\"\n", "two functions share the name \"fn\""),
        ("on_failure to an unknown export", function + "command = \"/bin/cat\"\non_failure = { export = \"nowhere\" }\n", "no [[exports]] entry is named \"nowhere\""),
        // [sink] (before exports)
        ("sink keys for a kind that has none", "[sink]\nkind = \"embedded\"\nendpoint = \"https://x\"\n", "[sink] endpoint and aggregation apply to kind = \"kinesis\""),
    ]

    @Test("each refusal names the file, the key and what to do", arguments: cases.indices)
    func refusal(_ index: Int) throws {
        let (what, text, words) = Self.cases[index]
        do {
            _ = try SluiceConfig.parse(text, file: "/etc/sluice/sluice.toml")
            Issue.record("\(what): accepted")
        } catch let error as ConfigError {
            #expect(error.message.contains(words), "\(what): \(error.message)")
            #expect(error.message.hasPrefix("/etc/sluice/sluice.toml"), "\(what): the message names the file: \(error.message)")
        }
    }

    @Test("refusals carry a code callers can branch on")
    func codes() {
        func code(_ text: String) -> ConfigError.Code? {
            do { _ = try SluiceConfig.parse(text, file: "/etc/sluice/sluice.toml") } catch let error as ConfigError { return error.code } catch {}
            return nil
        }
        #expect(code("data_dir = \n") == .notTOML)
        #expect(code("colour = 1\n") == .unknownKey)
        #expect(code("[[streams]]\nshards = 1\n") == .missingKey)
        #expect(code(Self.stream + Self.stream) == .conflict)
        #expect(code("[api]\nmax_connections = 2\n") == .invalidValue)
    }

    @Test("a minimal file with one of everything is accepted")
    func minimalFileIsAccepted() throws {
        let text = Self.stream + Self.file + Self.mqtt.replacingOccurrences(of: "[[sources.mqtt]]\n", with: "[[sources.mqtt]]\nname = \"m\"\n")
            + "[[exports]]\nname = \"f\"\nstream = \"s\"\nkind = \"files\"\ndirectory = \"/srv/out\"\n"
            + "[[functions]]\nname = \"fn\"\nstream = \"s\"\nstarting_position = \"LATEST\"\ncommand = \"/bin/cat\"\n"
        let config = try SluiceConfig.parse(text, file: "/etc/sluice/sluice.toml")
        #expect(config.streams.map(\.name) == ["s"])
        #expect(config.fileSources.count == 1 && config.mqttSources.count == 1)
        #expect(config.exports.map(\.name) == ["f"] && config.functions.map(\.settings.name) == ["fn"])
    }
}

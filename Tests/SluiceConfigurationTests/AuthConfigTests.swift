import Foundation
import SluiceTestSupport
import Testing
@testable import SluiceConfiguration

/// The API keys file ([auth] credentials_file): each refusal names the file and the fix,
/// and no refusal prints a secret.
@Suite struct AuthConfigTests {
    static let key = "[[keys]]\naccess_key_id = \"writer\"\nsecret_access_key = \"writer-secret-0123456\"\n"

    /// Writes `text` as a keys file of `mode` and reads it as sluiced does.
    func load(_ text: String?, mode: Int = 0o600) throws -> String? {
        let tmp = TemporaryDirectory("sluice-auth")
        let path = tmp.file("api-keys.toml")
        if let text {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }
        do {
            _ = try AuthConfig(credentialsFile: path).accessControl(region: "us-east-1", accountId: "000000000000")
            return nil
        } catch let error as ConfigError {
            #expect(!error.message.contains("writer-secret"), "no secret in a message: \(error.message)")
            return error.message
        }
    }

    @Test func refusals() throws {
        #expect(try load(nil)?.contains("does not exist; create it") == true)
        #expect(try load(Self.key, mode: 0o644)?.contains("may be read by other users (mode 644); run: chmod 600") == true)
        #expect(try load("[[keys]\n")?.contains("not valid TOML") == true)
        #expect(try load("[[keys]]\nsecret_access_key = \"writer-secret-0123456\"\n")?.contains("access_key_id: required") == true)
        #expect(try load("[[keys]]\naccess_key_id = \"w\"\nsecret_access_key = \"short\"\n")?.contains("secret_access_key: required, at least 16 characters") == true)
        #expect(try load(Self.key + Self.key)?.contains("access_key_id: \"writer\" is listed twice") == true)
        #expect(try load("")?.contains("no [[keys]]; add at least one access key") == true)
        #expect(try load(Self.key + "extra = 1\n")?.contains("extra: unknown key") == true)
        #expect(try load(Self.key) == nil, "a good file is accepted")
    }
}

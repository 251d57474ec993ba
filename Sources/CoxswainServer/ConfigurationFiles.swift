import CoxswainAudit
import CoxswainCore
import Foundation

/// Coxswain's own files, read at the edge: the configuration, the runbooks and the secret
/// files Slack's variables may name. Core parses their text and does no I/O itself.
public enum ConfigurationFiles {
    /// `coxswain.yaml`: paths in it are relative to its folder.
    public static func configuration(_ path: String) throws -> CoxswainConfiguration {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(
                file: path, key: "(file)", problem: "cannot be read; pass an existing file with --config (example: deploy/coxswain.example.yaml)")
        }
        let folder = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
        return try ConfigurationLoader.parse(yaml: text, file: path, baseDirectory: folder)
    }

    /// Every `*.yaml` runbook in `folder`, in name order.
    public static func runbooks(_ folder: String) throws -> RunbookSet {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        let files = try names.map { name -> (path: String, text: String) in
            let path = folder + "/" + name
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw RunbookError(file: path, step: nil, problem: "cannot be read")
            }
            return (path, text)
        }
        return try RunbookSet.parse(files: files, folder: folder)
    }

    /// Slack's secrets from the environment, where `NAME_FILE` may name a file holding
    /// `NAME`'s value (a Kubernetes Secret mounted as files).
    public static func secrets(_ environment: [String: String], mode: CoxswainConfiguration.SlackMode) throws -> SlackSecrets {
        try SlackSecrets.load(from: try resolvingSecretFiles(environment), mode: mode)
    }

    /// Mattermost's tokens from the environment (or `NAME_FILE`), when `mattermost:` is configured.
    public static func mattermostSecrets(_ environment: [String: String]) throws -> MattermostSecrets {
        try MattermostSecrets.load(from: try resolvingSecretFiles(environment))
    }

    /// The environment with each Slack or Mattermost secret that is given as `NAME_FILE` read into `NAME`.
    static func resolvingSecretFiles(_ environment: [String: String]) throws -> [String: String] {
        var resolved = environment
        for name in SlackSecrets.variableNames + MattermostSecrets.variableNames where (environment[name] ?? "").isEmpty {
            guard let path = environment["\(name)_FILE"], !path.isEmpty else { continue }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw SlackSecrets.MissingSecret(description: "\(name)_FILE points at \(path), which cannot be read")
            }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else { throw SlackSecrets.MissingSecret(description: "\(name)_FILE points at \(path), which is empty") }
            resolved[name] = value
        }
        return resolved
    }

    /// The PostgreSQL password: `COXSWAIN_DATABASE_PASSWORD`, or the file
    /// `COXSWAIN_DATABASE_PASSWORD_FILE` names (a mounted Secret); nil when neither is set
    /// (a server that trusts the connection, or a client certificate).
    public static func databasePassword(_ environment: [String: String]) throws -> String? {
        try secret("COXSWAIN_DATABASE_PASSWORD", environment)
    }

    /// The key that signs audit checkpoints: `COXSWAIN_AUDIT_SIGNING_KEY`, or the file
    /// `COXSWAIN_AUDIT_SIGNING_KEY_FILE` names (what `coxswain audit keygen` wrote); nil when
    /// neither is set, and then no checkpoints are made.
    public static func auditSigningKey(_ environment: [String: String]) throws -> AuditSigningKey? {
        guard let text = try secret("COXSWAIN_AUDIT_SIGNING_KEY", environment) else { return nil }
        do {
            return try AuditSigningKey(base64: text)
        } catch {
            throw SlackSecrets.MissingSecret(description: "COXSWAIN_AUDIT_SIGNING_KEY(_FILE) holds \(error.description)")
        }
    }

    /// `NAME`, or the contents of the file `NAME_FILE` names; nil when neither is set.
    public static func secret(_ name: String, _ environment: [String: String]) throws -> String? {
        if let value = environment[name], !value.isEmpty { return value }
        guard let path = environment["\(name)_FILE"], !path.isEmpty else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SlackSecrets.MissingSecret(description: "\(name)_FILE points at \(path), which cannot be read")
        }
        // A file written with a trailing newline (echo, most editors) holds the secret without it.
        let value = text.trimmingCharacters(in: .newlines)
        guard !value.isEmpty else { throw SlackSecrets.MissingSecret(description: "\(name)_FILE points at \(path), which is empty") }
        return value
    }
}

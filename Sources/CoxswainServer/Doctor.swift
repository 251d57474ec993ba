import CoxswainChat
import CoxswainCluster
import CoxswainCore
import Foundation

/// Checks what Coxswain depends on, as `coxswain doctor` prints it: helm (3.14 or later)
/// and kubectl on PATH, the audit trail's signing key and checkpoint file, read access to every
/// configured namespace, the Slack token, and the bot's membership of the audit channel and of
/// every channel the configuration names.
public struct Doctor: Sendable {
    public struct Check: Sendable, Equatable {
        public var ok: Bool
        public var name: String
        public var detail: String
        public var line: String { "\(ok ? "✅" : "❌") \(name): \(detail)" }
    }

    let dependencies: ServerDependencies
    public init(dependencies: ServerDependencies) { self.dependencies = dependencies }

    /// The helm check alone; start-up logs it.
    public func helmCheck() async -> Check {
        do {
            let version = try await dependencies.cluster.helm.version()
            guard version >= HelmVersion.minimumForUpgrade else {
                return Check(
                    ok: false, name: "helm",
                    detail:
                        "version \(version) is older than \(HelmVersion.minimumForUpgrade), which `--reset-then-reuse-values` (used by upgrades) "
                            + "needs; install helm 3.14 or later"
                )
            }
            return Check(ok: true, name: "helm", detail: "version \(version)")
        } catch {
            return Check(ok: false, name: "helm", detail: error.message)
        }
    }

    public func run() async -> [Check] {
        var checks = [await helmCheck()]
        do {
            let output = try await dependencies.cluster.runner.run(dependencies.configuration.cluster.kubectl, ["version", "--client"], timeout: .seconds(10))
            checks.append(
                Check(
                    ok: output.succeeded, name: "kubectl",
                    detail: output.succeeded ? output.stdout.split(separator: "\n").first.map(String.init) ?? "ok" : output.errorText))
        } catch {
            checks.append(Check(ok: false, name: "kubectl", detail: "\(error)"))
        }
        checks += auditChecks()
        let helmReleases = dependencies.configuration.releases.values.filter { $0.kind == .helm }
        let namespaces = Set(helmReleases.map(\.namespace)).sorted()
        for namespace in namespaces {
            do {
                let releases = try await dependencies.cluster.helm.list(namespace: namespace)
                let expected = helmReleases.filter { $0.namespace == namespace }.map(\.name)
                let missing = expected.filter { !releases.contains($0) }.sorted()
                checks.append(
                    Check(
                        ok: missing.isEmpty, name: "namespace \(namespace)",
                        detail: missing.isEmpty
                            ? "helm sees \(expected.sorted().joined(separator: ", "))" : "helm does not see \(missing.joined(separator: ", "))"))
            } catch {
                checks.append(Check(ok: false, name: "namespace \(namespace)", detail: error.message))
            }
        }
        checks += await mattermostChecks()
        guard dependencies.configuration.slackEnabled else { return checks }
        let slack = SlackWebClient(http: dependencies.http, apiURL: dependencies.configuration.slack.apiURL, token: dependencies.secrets.botToken)
        do {
            checks.append(Check(ok: true, name: "slack", detail: "token works: " + (try await slack.authTest())))
        } catch {
            checks.append(Check(ok: false, name: "slack", detail: "auth.test failed: \(error)"))
            return checks
        }
        for channel in channelsToCheck() {
            do {
                let member = try await slack.isMember(of: channel.id)
                checks.append(
                    Check(
                        ok: member, name: "channel \(channel.id)",
                        detail: member
                            ? "the bot is a member (\(channel.why))"
                            : "the bot is not a member (\(channel.why)); invite it there with /invite @coxswain"))
            } catch {
                checks.append(
                    Check(
                        ok: false, name: "channel \(channel.id)",
                        detail: "conversations.info failed (\(channel.why)): \(error); "
                            + "the app needs the channels:read and groups:read scopes"))
            }
        }
        return checks
    }

    /// The key that signs checkpoints (its public half printed, to compare with the copy kept
    /// off the server) and whether the checkpoint file can be appended to.
    func auditChecks() -> [Check] {
        var checks: [Check] = []
        if let key = dependencies.auditSigningKey {
            checks.append(Check(ok: true, name: "audit checkpoints", detail: "signed by the key whose public half is \(key.publicKey.base64)"))
        } else {
            checks.append(
                Check(
                    ok: false, name: "audit checkpoints",
                    detail: "off: COXSWAIN_AUDIT_SIGNING_KEY_FILE is not set, so a trail rewritten as a whole would go unnoticed; "
                        + "make a key with `coxswain audit keygen --out FILE`"))
        }
        if let file = dependencies.configuration.audit.checkpointFile {
            let manager = FileManager.default
            let folder = (file as NSString).deletingLastPathComponent
            let writable =
                manager.fileExists(atPath: file) ? manager.isWritableFile(atPath: file) : manager.isWritableFile(atPath: folder.isEmpty ? "." : folder)
            checks.append(
                Check(
                    ok: writable, name: "audit.checkpoint_file",
                    detail: writable ? "\(file) can be appended to" : "\(file) cannot be written (does \(folder) exist, and may Coxswain write there?)"))
        }
        return checks
    }

    /// With `mattermost:`: the bot's token (`GET /users/me`) and its membership of the audit
    /// channel and of every Mattermost channel an environment names.
    func mattermostChecks() async -> [Check] {
        guard let settings = dependencies.configuration.mattermost else { return [] }
        guard let secrets = dependencies.mattermostSecrets else {
            return [Check(ok: false, name: "mattermost", detail: "MATTERMOST_BOT_TOKEN and MATTERMOST_COMMAND_TOKENS are not set")]
        }
        let client = MattermostWebClient(http: dependencies.http, serverURL: settings.url, token: secrets.botToken)
        var checks: [Check] = []
        do {
            let me = try await client.me()
            let detail = "token works: the bot is @\(me.username), \(secrets.commandTokens.count) command token(s)"
            checks.append(Check(ok: true, name: "mattermost", detail: detail))
        } catch {
            return [Check(ok: false, name: "mattermost", detail: "GET /api/v4/users/me failed: \(error)")]
        }
        var channels = settings.auditChannel.map { [($0, "mattermost.audit_channel")] } ?? []
        for (env, channel) in CoxswainConfiguration.Mattermost.environmentChannels(dependencies.configuration.environments).sorted(by: { $0.key < $1.key }) {
            channels.append((channel, "environments.\(env).channels"))
        }
        for (channel, why) in channels {
            do {
                let member = try await client.isMember(of: channel)
                checks.append(
                    Check(
                        ok: member, name: "mattermost channel \(channel)",
                        detail: member ? "the bot is a member (\(why))" : "the bot is not a member (\(why)); add it: /invite @BOT in that channel"))
            } catch {
                checks.append(Check(ok: false, name: "mattermost channel \(channel)", detail: "could not ask (\(why)): \(error)"))
            }
        }
        return checks
    }

    /// The audit channel and every Slack channel an environment accepts commands from.
    func channelsToCheck() -> [(id: String, why: String)] {
        var channels: [(String, String)] = []
        if let audit = dependencies.configuration.slack.auditChannel { channels.append((audit, "slack.audit_channel")) }
        for env in dependencies.configuration.environments.values.sorted(by: { $0.name < $1.name }) {
            for channel in env.channels ?? []
            where channel != AccessPolicy.consoleChannel && !channel.hasPrefix("mattermost:") && !channels.contains(where: { $0.0 == channel }) {
                channels.append((channel, "environments.\(env.name).channels"))
            }
        }
        return channels
    }
}

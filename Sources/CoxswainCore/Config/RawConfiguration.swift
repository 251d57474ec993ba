import Foundation
import Yams

/// The file as written, before anything is checked against anything else.
struct RawConfiguration: Decodable {
    struct Server: Decodable { var host: String?; var port: Int?; var operator_host: String?; var operator_port: Int? }
    struct Slack: Decodable {
        var api_url: String?
        var audit_channel: String?
        var response_url_hosts: [String]?
        var give_up_after: String?
        var mode: String?
        var edit_interval: String?
    }
    struct Cluster: Decodable {
        var helm: String?
        var kubectl: String?
        var context: String?
        var read_timeout: String?
        var environment: [String]?
        var gpu_resources: [String]?
        var argocd_namespace: String?
    }
    struct Worker: Decodable { var max_concurrent_jobs: Int?; var shutdown_grace: String?; var lease_duration: String? }
    struct Environment: Decodable {
        var namespace: String
        var approvals: Int?
        var approval_ttl: String?
        var channels: [String]?
        var release_channels: [String]?
        var promotion_after: String?
        var read_requires_grant: Bool?
        var watch: Watch?
        var capacity: Capacity?
        var gitops: String?
    }
    struct Capacity: Decodable { var when_short: String? }
    struct Role: Decodable {
        var grants: [String]
        var environments: [String]
        var usergroups: [String]?
    }
    struct Emergency: Decodable { var reminder_interval: String?; var watch_timeout: String? }
    struct Retention: Decodable { var notices: String?; var request_keys: String? }
    struct Audit: Decodable { var installation: String?; var checkpoint_interval: String?; var checkpoint_file: String?; var checkpoint_url: String? }
    struct Release: Decodable {
        var model: String
        var environment: String
        var endpoint: String
        var namespace: String?
        var ready_endpoint: Bool?
        var completion_slo: String?
        var max_model_len: Int?
        var kind: String?
        var chart: String?
        var values: [String]?
        var deployment: String?
        var watch_queries: WatchQueries?
    }

    var server: Server?
    var command_prefix: String?
    var database: String?
    var commands: String?
    var slack: Slack?
    var mattermost: Mattermost?
    var cluster: Cluster?
    var worker: Worker?
    var environments: [String: Environment]
    var releases: [String: Release]
    var users: [String: [String]]?
    var roles: [String: Role]?
    var members: [String: [String]]?
    var emergency: Emergency?
    var usergroup_ttl: String?
    var prometheus: Prometheus?
    var watch: Watch?
    var retention: Retention?
    var audit: Audit?

    func validated(file: String, root: Node, baseDirectory: String?) throws -> CoxswainConfiguration {
        func fail(_ key: String, _ problem: String) -> ConfigurationError {
            let mark = root.node(at: key.split(separator: ".").map(String.init))?.mark
            return ConfigurationError(file: file, key: key, problem: problem, line: mark?.line, column: mark?.column)
        }
        func resolve(_ path: String) -> String {
            guard let baseDirectory, !path.hasPrefix("/") else { return path }
            return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: baseDirectory, isDirectory: true)).standardizedFileURL.path
        }
        func duration(_ text: String?, _ fallback: String, _ key: String) throws -> GoDuration {
            guard let value = GoDuration(parsing: text ?? fallback), value.milliseconds > 0 else {
                throw fail(key, "must be a duration such as \(fallback) (h, m, s, ms; at most 876000h), got \"\(text ?? "")\"")
            }
            return value
        }

        // `0s` turns pacing off (every step its own edit); otherwise a positive duration.
        func editInterval(_ text: String?) throws -> GoDuration {
            if let text, let value = GoDuration(parsing: text), value.milliseconds == 0 { return value }
            return try duration(text, "1s", "slack.edit_interval")
        }

        let port = server?.port ?? 8080
        guard (0...65535).contains(port) else { throw fail("server.port", "must be between 0 and 65535, got \(port)") }
        let operatorPort = server?.operator_port ?? 8081
        guard (0...65535).contains(operatorPort) else { throw fail("server.operator_port", "must be between 0 and 65535, got \(operatorPort)") }

        let apiText = slack?.api_url ?? "https://slack.com/api"
        guard let apiURL = URL(string: apiText), let scheme = apiURL.scheme, ["http", "https"].contains(scheme), apiURL.host != nil else {
            throw fail("slack.api_url", "must be an http(s) URL such as https://slack.com/api, got \"\(apiText)\"")
        }
        if let channel = slack?.audit_channel, !Validation.isSlackID(channel) {
            throw fail("slack.audit_channel", "must be a Slack channel id such as C0AUDIT, got \"\(channel)\"")
        }
        let hooks = slack?.response_url_hosts ?? ["hooks.slack.com"]
        for host in hooks where host.isEmpty || host.contains("/") || host.contains(where: \.isWhitespace) {
            throw fail("slack.response_url_hosts", "must list host names such as hooks.slack.com, got \"\(host)\"")
        }

        let modeText = slack?.mode ?? "http"
        guard let slackMode = CoxswainConfiguration.SlackMode(rawValue: modeText) else {
            throw fail(
                "slack.mode",
                "must be http (Slack posts to Coxswain's request URLs) or socket (Coxswain connects to Slack; needs SLACK_APP_TOKEN), "
                    + "got \"\(modeText)\". Example: mode: socket")
        }

        let readTimeout = try duration(cluster?.read_timeout, "30s", "cluster.read_timeout")
        let gpuResources = cluster?.gpu_resources ?? [CoxswainConfiguration.Cluster.nvidiaGPU]
        if let argo = cluster?.argocd_namespace, !Validation.isNamespace(argo) {
            throw fail("cluster.argocd_namespace", "must be a Kubernetes namespace such as argocd, got \"\(argo)\"")
        }
        for name in gpuResources where !name.contains("/") || name.contains(where: \.isWhitespace) {
            throw fail("cluster.gpu_resources", "must list extended resource names such as nvidia.com/gpu or amd.com/gpu, got \"\(name)\"")
        }
        for name in cluster?.environment ?? [] where name.isEmpty || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
            throw fail("cluster.environment", "must list environment variable names such as AWS_PROFILE, got \"\(name)\"")
        }
        let maxJobs = worker?.max_concurrent_jobs ?? 4
        guard maxJobs >= 1 else { throw fail("worker.max_concurrent_jobs", "must be at least 1, got \(maxJobs)") }

        var envs = try validatedEnvironments(fail: fail, duration: duration)
        var rels = try validatedReleases(envs: envs, resolve: resolve, fail: fail)
        let prometheusConfiguration = try validatedWatch(envs: &envs, rels: &rels, resolve: resolve, fail: fail, duration: duration)
        let (roleMap, memberMap) = try validatedAccess(envs: envs, fail: fail)

        var configuration = CoxswainConfiguration(
            server: .init(host: server?.host ?? "0.0.0.0", port: port, operatorHost: server?.operator_host ?? "127.0.0.1", operatorPort: operatorPort),
            databasePath: PostgresAddress.isPostgres(database ?? "") ? "" : resolve(database ?? "coxswain.sqlite"),
            commandsDirectory: resolve(commands ?? "commands"),
            slack: .init(
                apiURL: apiURL, auditChannel: slack?.audit_channel, responseURLHosts: hooks,
                giveUpAfter: try duration(slack?.give_up_after, "24h", "slack.give_up_after"), mode: slackMode,
                editInterval: try editInterval(slack?.edit_interval)),
            cluster: .init(
                helm: cluster?.helm ?? "helm", kubectl: cluster?.kubectl ?? "kubectl",
                kubeContext: cluster?.context, readTimeout: readTimeout, passEnvironment: cluster?.environment ?? [], gpuResources: gpuResources,
                argoCDNamespace: cluster?.argocd_namespace ?? "argocd"),
            worker: .init(
                maxConcurrentJobs: maxJobs, shutdownGrace: try duration(worker?.shutdown_grace, "20m", "worker.shutdown_grace"),
                leaseDuration: try duration(worker?.lease_duration, "30s", "worker.lease_duration")),
            environments: envs, releases: rels, roles: roleMap, members: memberMap,
            emergency: .init(
                reminderInterval: try duration(emergency?.reminder_interval, "4h", "emergency.reminder_interval"),
                watchTimeout: try duration(emergency?.watch_timeout, "10m", "emergency.watch_timeout")),
            userGroupTTL: try duration(usergroup_ttl, "10m", "usergroup_ttl"))

        // An environment that needs N approvals must have N people who could give them, or
        // every request there would wait for nobody until it expires.
        let policy = AccessPolicy(configuration: configuration)
        for env in envs.values.sorted(by: { $0.name < $1.name }) where env.approvals > 0 {
            let possible = policy.possibleApprovers(environment: env.name)
            guard possible >= env.approvals else {
                throw fail(
                    "environments.\(env.name).approvals",
                    "needs \(env.approvals) approval(s) but only \(possible) person or user group "
                        + "could give them: add a role with grants: [approve] and environments: [\(env.name)], with members or usergroups "
                        + "(e.g. roles: { approver: { grants: [approve], environments: [\(env.name)] } } and members: { U0789CAROL: [approver] })")
            }
        }
        configuration.prometheus = prometheusConfiguration
        configuration.mattermost = try validatedMattermost(fail: fail, duration: duration)
        configuration.slackEnabled = slack != nil || mattermost == nil
        if let database, PostgresAddress.isPostgres(database) {
            switch PostgresAddress.parse(database) {
            case .success(let address): configuration.postgres = address
            case .failure(let error): throw fail("database", error.problem)
            }
        }
        // `forever` keeps them; otherwise a duration of at least an hour.
        func kept(_ text: String?, _ key: String) throws -> GoDuration? {
            guard let text else { return GoDuration(milliseconds: 30 * 86_400_000) }
            if text == "forever" { return nil }
            guard let value = GoDuration(parsing: text), value >= GoDuration(seconds: 3600) else {
                throw fail(key, "must be a duration of at least 1h, such as 720h (30 days), or forever, got \"\(text)\"")
            }
            return value
        }
        configuration.retention.notices = try kept(retention?.notices, "retention.notices")
        configuration.retention.requestKeys = try kept(retention?.request_keys, "retention.request_keys")
        configuration.audit = try validatedAudit(fail: fail, resolve: resolve)
        configuration.commandPrefix = command_prefix ?? ""
        guard Validation.isCommandPrefix(configuration.commandPrefix) else {
            throw fail("command_prefix", "must be up to 12 lowercase letters, digits or '-', e.g. cx-, got \"\(configuration.commandPrefix)\"")
        }
        return configuration
    }

    private func validatedAudit(fail: (String, String) -> ConfigurationError, resolve: (String) -> String) throws -> CoxswainConfiguration.Audit {
        var result = CoxswainConfiguration.Audit()
        if let name = audit?.installation {
            guard !name.isEmpty, name.utf8.count <= 100, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
                throw fail("audit.installation", "must be up to 100 letters, digits, '.', '_' or '-', such as acme-production, got \"\(name)\"")
            }
            result.installation = name
        }
        if let text = audit?.checkpoint_interval {
            guard let value = GoDuration(parsing: text), value >= GoDuration(seconds: 60), value <= GoDuration(seconds: 3600) else {
                throw fail("audit.checkpoint_interval", "must be a duration from 1m to 1h, such as 15m, got \"\(text)\"")
            }
            result.checkpointInterval = value
        }
        if let path = audit?.checkpoint_file {
            guard !path.isEmpty else { throw fail("audit.checkpoint_file", "must name a file, such as /var/lib/coxswain/checkpoints.log") }
            result.checkpointFile = resolve(path)
        }
        if let text = audit?.checkpoint_url {
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false else {
                throw fail("audit.checkpoint_url", "must be an http(s) URL, such as https://audit.example.com/coxswain/checkpoints, got \"\(text)\"")
            }
            result.checkpointURL = url
        }
        return result
    }

    private func validatedEnvironments(
        fail: (String, String) -> ConfigurationError,
        duration: (String?, String, String) throws -> GoDuration
    ) throws -> [String: CoxswainConfiguration.Environment] {
        guard !environments.isEmpty else { throw fail("environments", "must name at least one environment, e.g. production: { namespace: production }") }
        var envs: [String: CoxswainConfiguration.Environment] = [:]
        for (name, env) in environments {
            let key = "environments.\(name)"
            guard Validation.isDNSLabel(name) else { throw fail(key, "an environment name must be lowercase letters, digits and '-'") }
            guard Validation.isNamespace(env.namespace) else {
                throw fail("\(key).namespace", "must be a Kubernetes namespace (lowercase letters, digits, '-', at most 63), got \"\(env.namespace)\"")
            }
            // Production needs one approval unless it says otherwise; elsewhere none.
            let approvals = env.approvals ?? (name == "production" ? 1 : 0)
            guard (0...5).contains(approvals) else { throw fail("\(key).approvals", "must be a whole number from 0 to 5, got \(approvals)") }
            let ttl = try duration(env.approval_ttl, "30m", "\(key).approval_ttl")
            for channel in env.channels ?? []
            where !Validation.isSlackID(channel) && !Validation.isMattermostChannel(channel) && channel != AccessPolicy.consoleChannel {
                throw fail(
                    "\(key).channels",
                    "must list Slack channel ids such as C0OPS, Mattermost channels as mattermost:CHANNEL_ID (26 letters and digits), "
                        + "or `console`, got \"\(channel)\"")
            }
            var releaseChannels: Set<ReleaseChannel>?
            if let names = env.release_channels {
                releaseChannels = []
                for channelName in names {
                    guard let channel = ReleaseChannel(rawValue: channelName) else {
                        throw fail("\(key).release_channels", "unknown channel \"\(channelName)\"; known: versioned, nightly, latest")
                    }
                    releaseChannels?.insert(channel)
                }
            }
            envs[name] = .init(
                name: name, namespace: env.namespace, approvals: approvals, approvalTTL: ttl, channels: env.channels,
                releaseChannels: releaseChannels, promotionAfter: env.promotion_after, readRequiresGrant: env.read_requires_grant ?? false)
            if let text = env.capacity?.when_short {
                guard let whenShort = CapacityWhenShort(rawValue: text) else {
                    throw fail(
                        "\(key).capacity.when_short",
                        "must be stop (change nothing and say so), proceed (new pods wait Pending) or neutral (one pod at a time), got \"\(text)\"")
                }
                envs[name]?.capacityWhenShort = whenShort
            }
            if let text = env.gitops {
                guard let mode = GitOpsMode(rawValue: text) else {
                    throw fail(
                        "\(key).gitops",
                        "must be warn (the plan says Argo CD or Flux syncs the release; the change goes ahead), refuse (such changes are not made) "
                            + "or suspend (automated sync is suspended before the change, until /resume-sync), got \"\(text)\"")
                }
                envs[name]?.gitopsMode = mode
            }
        }
        // Production is promoted from staging by default, when there is a staging.
        if var production = envs["production"], production.promotionAfter == nil, envs["staging"] != nil {
            production.promotionAfter = "staging"
            envs["production"] = production
        }
        for env in envs.values {
            if let after = env.promotionAfter, envs[after] == nil || after == env.name {
                throw fail("environments.\(env.name).promotion_after", "\"\(after)\" is not another environment\(Self.suggestion(after, envs.keys))")
            }
        }
        return envs
    }

    static func suggestion(_ word: String, _ names: some Collection<String>) -> String {
        let nearest = YAMLShape.nearest(to: word, in: Array(names)).map { "; did you mean `\($0)`?" } ?? ""
        return nearest + " Environments: \(names.sorted().joined(separator: ", "))"
    }
}

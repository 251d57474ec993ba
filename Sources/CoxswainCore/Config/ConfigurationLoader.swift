import Foundation
import Yams

/// Reads `coxswain.yaml` (see `deploy/coxswain.example.yaml`) into a validated
/// `CoxswainConfiguration`. Every error names the file, the key and what was expected.
public enum ConfigurationLoader {
    public static func load(file path: String) throws -> CoxswainConfiguration {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(file: path, key: "(file)", problem: "cannot be read; pass an existing file with --config (example: deploy/coxswain.example.yaml)")
        }
        return try parse(yaml: text, file: path)
    }

    public static func parse(yaml text: String, file: String) throws -> CoxswainConfiguration {
        let raw: RawConfiguration
        do {
            raw = try YAMLDecoder().decode(RawConfiguration.self, from: text)
        } catch let error as DecodingError {
            throw ConfigurationError(file: file, key: error.keyPath, problem: error.problem)
        } catch {
            throw ConfigurationError(file: file, key: "(file)", problem: "is not valid YAML: \(error)")
        }
        return try raw.validated(file: file)
    }
}

private struct RawConfiguration: Decodable {
    struct Server: Decodable { var host: String?; var port: Int? }
    struct Slack: Decodable {
        var api_url: String?
        var audit_channel: String?
    }
    struct Cluster: Decodable {
        var helm: String?
        var kubectl: String?
        var context: String?
        var read_timeout: String?
    }
    struct Worker: Decodable { var max_concurrent_jobs: Int? }
    struct Environment: Decodable {
        var namespace: String
        var approvals: Int?
        var approval_ttl: String?
        var channels: [String]?
        var release_channels: [String]?
        var promotion_after: String?
    }
    struct Role: Decodable {
        var grants: [String]
        var environments: [String]
        var usergroups: [String]?
    }
    struct Emergency: Decodable { var reminder_interval: String?; var watch_timeout: String? }
    struct Release: Decodable {
        var model: String
        var environment: String
        var endpoint: String
        var namespace: String?
        var ready_endpoint: Bool?
        var completion_slo: String?
        var kind: String?
        var chart: String?
        var values: [String]?
        var deployment: String?
    }

    var server: Server?
    var database: String?
    var commands: String?
    var slack: Slack?
    var cluster: Cluster?
    var worker: Worker?
    var environments: [String: Environment]
    var releases: [String: Release]
    var users: [String: [String]]?
    var roles: [String: Role]?
    var members: [String: [String]]?
    var emergency: Emergency?
    var usergroup_ttl: String?

    func validated(file: String) throws -> CoxswainConfiguration {
        func fail(_ key: String, _ problem: String) -> ConfigurationError { ConfigurationError(file: file, key: key, problem: problem) }

        let port = server?.port ?? 8080
        guard (0...65535).contains(port) else { throw fail("server.port", "must be between 0 and 65535, got \(port)") }

        let apiText = slack?.api_url ?? "https://slack.com/api"
        guard let apiURL = URL(string: apiText), let scheme = apiURL.scheme, ["http", "https"].contains(scheme), apiURL.host != nil else {
            throw fail("slack.api_url", "must be an http(s) URL such as https://slack.com/api, got \"\(apiText)\"")
        }
        if let channel = slack?.audit_channel, !Validation.isSlackID(channel) {
            throw fail("slack.audit_channel", "must be a Slack channel id such as C0AUDIT, got \"\(channel)\"")
        }

        let readTimeoutText = cluster?.read_timeout ?? "30s"
        guard let readTimeout = GoDuration(parsing: readTimeoutText) else {
            throw fail("cluster.read_timeout", "must be a duration such as 30s or 1m, got \"\(readTimeoutText)\"")
        }
        let maxJobs = worker?.max_concurrent_jobs ?? 4
        guard maxJobs >= 1 else { throw fail("worker.max_concurrent_jobs", "must be at least 1, got \(maxJobs)") }

        guard !environments.isEmpty else { throw fail("environments", "must name at least one environment, e.g. production: { namespace: production }") }
        var envs: [String: CoxswainConfiguration.Environment] = [:]
        for (name, env) in environments {
            guard Validation.isDNSLabel(name) else { throw fail("environments.\(name)", "an environment name must be lowercase letters, digits and '-'") }
            guard Validation.isNamespace(env.namespace) else {
                throw fail("environments.\(name).namespace", "must be a Kubernetes namespace (lowercase letters, digits, '-', at most 63), got \"\(env.namespace)\"")
            }
            // Production needs one approval unless it says otherwise; elsewhere none.
            let approvals = env.approvals ?? (name == "production" ? 1 : 0)
            guard (0...5).contains(approvals) else { throw fail("environments.\(name).approvals", "must be a whole number from 0 to 5, got \(approvals)") }
            let ttlText = env.approval_ttl ?? "30m"
            guard let ttl = GoDuration(parsing: ttlText), ttl.milliseconds > 0 else {
                throw fail("environments.\(name).approval_ttl", "must be a duration such as 30m or 1h, got \"\(ttlText)\"")
            }
            for channel in env.channels ?? [] where !Validation.isSlackID(channel) {
                throw fail("environments.\(name).channels", "must list Slack channel ids such as C0OPS, got \"\(channel)\"")
            }
            var releaseChannels: Set<ReleaseChannel>?
            if let names = env.release_channels {
                releaseChannels = []
                for channelName in names {
                    guard let channel = ReleaseChannel(rawValue: channelName) else {
                        throw fail("environments.\(name).release_channels", "unknown channel \"\(channelName)\"; known: versioned, nightly, latest")
                    }
                    releaseChannels?.insert(channel)
                }
            }
            envs[name] = .init(name: name, namespace: env.namespace, approvals: approvals, approvalTTL: ttl, channels: env.channels,
                               releaseChannels: releaseChannels, promotionAfter: env.promotion_after)
        }

        // Production is promoted from staging by default, when there is a staging.
        if var production = envs["production"], production.promotionAfter == nil, environments["production"]?.promotion_after == nil, envs["staging"] != nil {
            production.promotionAfter = "staging"
            envs["production"] = production
        }
        for env in envs.values {
            if let after = env.promotionAfter, envs[after] == nil || after == env.name {
                throw fail("environments.\(env.name).promotion_after", "\"\(after)\" is not another environment: \(envs.keys.sorted().joined(separator: ", "))")
            }
        }

        var rels: [String: CoxswainConfiguration.Release] = [:]
        for (name, rel) in releases {
            let key = "releases.\(name)"
            guard Validation.isReleaseName(name) else {
                throw fail(key, "a release name must be a DNS label of at most 53 characters (lowercase letters, digits, '-')")
            }
            guard let env = envs[rel.environment] else {
                throw fail("\(key).environment", "\"\(rel.environment)\" is not one of the environments: \(envs.keys.sorted().joined(separator: ", "))")
            }
            let namespace = rel.namespace ?? env.namespace
            guard Validation.isNamespace(namespace) else { throw fail("\(key).namespace", "must be a Kubernetes namespace, got \"\(namespace)\"") }
            guard let endpoint = URL(string: rel.endpoint), let scheme = endpoint.scheme, ["http", "https"].contains(scheme), endpoint.host != nil else {
                throw fail("\(key).endpoint", "must be an http(s) URL such as http://\(name).\(namespace).svc.cluster.local:8000, got \"\(rel.endpoint)\"")
            }
            guard !rel.model.isEmpty, !rel.model.contains(where: \.isWhitespace) else { throw fail("\(key).model", "must be a model name without spaces, e.g. llama-2-7b") }
            var slo: GoDuration?
            if let text = rel.completion_slo {
                guard let parsed = GoDuration(parsing: text), parsed.milliseconds > 0 else {
                    throw fail("\(key).completion_slo", "must be a duration such as 3s or 1500ms, got \"\(text)\"")
                }
                slo = parsed
            }
            var release = CoxswainConfiguration.Release(name: name, model: rel.model, environment: rel.environment, namespace: namespace,
                                                        endpoint: endpoint, hasReadyEndpoint: rel.ready_endpoint ?? false, completionSLO: slo)
            if let kindName = rel.kind {
                guard let kind = CoxswainConfiguration.ReleaseKind(rawValue: kindName) else {
                    throw fail("\(key).kind", "must be helm or deployment, got \"\(kindName)\"")
                }
                release.kind = kind
            }
            if let chart = rel.chart {
                guard !chart.isEmpty, !chart.hasPrefix("-"), !chart.contains(where: \.isWhitespace) else {
                    throw fail("\(key).chart", "must be a chart reference such as oci://ghcr.io/vllm-project/charts/semantic-router, got \"\(chart)\"")
                }
                release.chart = chart
            }
            for file in rel.values ?? [] where file.isEmpty || file.hasPrefix("-") {
                throw fail("\(key).values", "must list values files such as values-production.yaml, got \"\(file)\"")
            }
            release.valuesFiles = rel.values ?? []
            if let deployment = rel.deployment {
                guard Validation.isDNSLabel(deployment, maxLength: 253) else { throw fail("\(key).deployment", "must be a Deployment name, got \"\(deployment)\"") }
                release.deploymentName = deployment
            }
            rels[name] = release
        }

        var roleMap: [String: CoxswainConfiguration.Role] = [:]
        for (name, role) in roles ?? [:] {
            let key = "roles.\(name)"
            var grants = Set<Permission>()
            for grant in role.grants {
                guard let permission = Permission(rawValue: grant) else {
                    throw fail("\(key).grants", "unknown grant \"\(grant)\"; known: \(Permission.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                grants.insert(permission)
            }
            for env in role.environments where envs[env] == nil {
                throw fail("\(key).environments", "\"\(env)\" is not one of the environments: \(envs.keys.sorted().joined(separator: ", "))")
            }
            for group in role.usergroups ?? [] where !Validation.isSlackID(group) {
                throw fail("\(key).usergroups", "must list Slack user group ids such as S0123ONCALL, got \"\(group)\"")
            }
            roleMap[name] = .init(name: name, grants: grants, environments: Set(role.environments), userGroups: role.usergroups ?? [])
        }
        var memberMap: [String: Set<String>] = [:]
        for (user, names) in members ?? [:] {
            guard Validation.isSlackID(user) else { throw fail("members.\(user)", "must be a Slack user id such as U0123ALICE") }
            for name in names where roleMap[name] == nil {
                throw fail("members.\(user)", "\"\(name)\" is not one of the roles: \(roleMap.keys.sorted().joined(separator: ", "))")
            }
            memberMap[user] = Set(names)
        }
        // The first version's `users:` (user -> environments) keeps working: each entry is a
        // role of its own that may roll back and cancel in those environments.
        for (user, allowed) in users ?? [:] {
            guard Validation.isSlackID(user) else { throw fail("users.\(user)", "must be a Slack user id such as U0123ALICE") }
            // An environment not configured yet (say staging) grants nothing: fail closed.
            for env in allowed where !Validation.isDNSLabel(env) {
                throw fail("users.\(user)", "\"\(env)\" is not an environment name (lowercase letters, digits, '-')")
            }
            let name = "users:\(user)"
            roleMap[name] = .init(name: name, grants: [.rollback, .cancel], environments: Set(allowed))
            memberMap[user, default: []].insert(name)
        }

        func duration(_ text: String?, _ fallback: String, _ key: String) throws -> GoDuration {
            guard let value = GoDuration(parsing: text ?? fallback), value.milliseconds > 0 else {
                throw fail(key, "must be a duration such as \(fallback), got \"\(text ?? "")\"")
            }
            return value
        }
        let emergencySettings = CoxswainConfiguration.Emergency(
            reminderInterval: try duration(emergency?.reminder_interval, "4h", "emergency.reminder_interval"),
            watchTimeout: try duration(emergency?.watch_timeout, "10m", "emergency.watch_timeout"))
        let groupTTL = try duration(usergroup_ttl, "10m", "usergroup_ttl")

        return CoxswainConfiguration(
            server: .init(host: server?.host ?? "0.0.0.0", port: port),
            databasePath: database ?? "coxswain.sqlite",
            commandsDirectory: commands ?? "commands",
            slack: .init(apiURL: apiURL, auditChannel: slack?.audit_channel),
            cluster: .init(helm: cluster?.helm ?? "helm", kubectl: cluster?.kubectl ?? "kubectl",
                           kubeContext: cluster?.context, readTimeout: readTimeout),
            worker: .init(maxConcurrentJobs: maxJobs),
            environments: envs, releases: rels, roles: roleMap, members: memberMap,
            emergency: emergencySettings, userGroupTTL: groupTTL)
    }
}

extension DecodingError {
    /// The dotted key the error is about, e.g. `releases.llama-2-7b-production.endpoint`.
    var keyPath: String {
        let path: [any CodingKey]
        switch self {
        case .keyNotFound(let key, let context): path = context.codingPath + [key]
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context): path = context.codingPath
        @unknown default: path = []
        }
        let text = path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        return text.isEmpty ? "(top level)" : text
    }

    var problem: String {
        switch self {
        case .keyNotFound: return "is required but missing"
        case .typeMismatch(let type, _): return "has the wrong type: expected \(Self.describe(type))"
        case .valueNotFound(let type, _): return "is empty: expected \(Self.describe(type))"
        case .dataCorrupted(let context): return context.debugDescription
        @unknown default: return "is invalid"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type: return "a whole number"
        case is Bool.Type: return "true or false"
        case is [String].Type: return "a list of strings"
        default: return "a mapping (key: value)"
        }
    }
}

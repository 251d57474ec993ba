import Foundation

/// Releases, roles, members and the first version's `users:` list.
extension RawConfiguration {
    func validatedReleases(
        envs: [String: CoxswainConfiguration.Environment], resolve: (String) -> String,
        fail: (String, String) -> ConfigurationError
    ) throws -> [String: CoxswainConfiguration.Release] {
        var rels: [String: CoxswainConfiguration.Release] = [:]
        for (name, rel) in releases {
            let key = "releases.\(name)"
            guard Validation.isReleaseName(name) else {
                throw fail(key, "a release name must be a DNS label of at most 53 characters (lowercase letters, digits, '-')")
            }
            guard let env = envs[rel.environment] else {
                throw fail("\(key).environment", "\"\(rel.environment)\" is not one of the environments\(Self.suggestion(rel.environment, envs.keys))")
            }
            let namespace = rel.namespace ?? env.namespace
            guard Validation.isNamespace(namespace) else { throw fail("\(key).namespace", "must be a Kubernetes namespace, got \"\(namespace)\"") }
            guard let endpoint = URL(string: rel.endpoint), let scheme = endpoint.scheme, ["http", "https"].contains(scheme), endpoint.host != nil else {
                throw fail("\(key).endpoint", "must be an http(s) URL such as http://\(name).\(namespace).svc.cluster.local:8000, got \"\(rel.endpoint)\"")
            }
            guard !rel.model.isEmpty, !rel.model.contains(where: \.isWhitespace) else {
                throw fail("\(key).model", "must be a model name without spaces, e.g. llama-2-7b")
            }
            var slo: GoDuration?
            if let text = rel.completion_slo {
                guard let parsed = GoDuration(parsing: text), parsed.milliseconds > 0 else {
                    throw fail("\(key).completion_slo", "must be a duration such as 3s or 1500ms, got \"\(text)\"")
                }
                slo = parsed
            }
            var release = CoxswainConfiguration.Release(
                name: name, model: rel.model, environment: rel.environment, namespace: namespace,
                endpoint: endpoint, hasReadyEndpoint: rel.ready_endpoint ?? false, completionSLO: slo)
            if let length = rel.max_model_len {
                guard length > 0 else { throw fail("\(key).max_model_len", "must be the model's context length in tokens, such as 4096, got \(length)") }
                release.maxModelLen = length
            }
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
            release.valuesFiles = (rel.values ?? []).map(resolve)
            if let deployment = rel.deployment {
                guard Validation.isDNSLabel(deployment, maxLength: 253) else {
                    throw fail("\(key).deployment", "must be a Deployment name, got \"\(deployment)\"")
                }
                release.deploymentName = deployment
            }
            rels[name] = release
        }
        return rels
    }

    func validatedAccess(
        envs: [String: CoxswainConfiguration.Environment],
        fail: (String, String) -> ConfigurationError
    ) throws -> ([String: CoxswainConfiguration.Role], [String: Set<String>]) {
        var roleMap: [String: CoxswainConfiguration.Role] = [:]
        for (name, role) in roles ?? [:] {
            let key = "roles.\(name)"
            var grants = Set<Permission>()
            for grant in role.grants {
                guard let permission = Permission(rawValue: grant) else {
                    let nearest = YAMLShape.nearest(to: grant, in: Permission.allCases.map(\.rawValue)).map { "; did you mean `\($0)`?" } ?? ""
                    throw fail("\(key).grants", "unknown grant \"\(grant)\"\(nearest) Known: \(Permission.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                grants.insert(permission)
            }
            for env in role.environments where envs[env] == nil {
                throw fail("\(key).environments", "\"\(env)\" is not one of the environments\(Self.suggestion(env, envs.keys))")
            }
            for group in role.usergroups ?? [] where !Validation.isSlackID(group) {
                throw fail("\(key).usergroups", "must list Slack user group ids such as S0123ONCALL, got \"\(group)\"")
            }
            roleMap[name] = .init(name: name, grants: grants, environments: Set(role.environments), userGroups: role.usergroups ?? [])
        }
        var memberMap: [String: Set<String>] = [:]
        for (user, names) in members ?? [:] {
            guard Validation.isSlackID(user) || Validation.isMattermostUser(user) else {
                throw fail("members.\(user)", "must be a Slack user id such as U0123ALICE, or a Mattermost user such as mattermost:alice")
            }
            for name in names where roleMap[name] == nil {
                let nearest = YAMLShape.nearest(to: name, in: Array(roleMap.keys)).map { "; did you mean `\($0)`?" } ?? ""
                throw fail("members.\(user)", "\"\(name)\" is not one of the roles\(nearest) Roles: \(roleMap.keys.sorted().joined(separator: ", "))")
            }
            memberMap[user] = Set(names)
        }
        // The first version's `users:` (user -> environments) keeps working: each entry is a
        // role of its own that may roll back and cancel in those environments.
        for (user, allowed) in users ?? [:] {
            guard Validation.isSlackID(user) || Validation.isMattermostUser(user) else {
                throw fail("users.\(user)", "must be a Slack user id such as U0123ALICE, or a Mattermost user such as mattermost:alice")
            }
            for env in allowed where envs[env] == nil {
                throw fail("users.\(user)", "\"\(env)\" is not one of the environments\(Self.suggestion(env, envs.keys))")
            }
            let name = "users:\(user)"
            roleMap[name] = .init(name: name, grants: [.rollback, .cancel], environments: Set(allowed))
            memberMap[user, default: []].insert(name)
        }
        return (roleMap, memberMap)
    }
}

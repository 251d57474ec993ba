import CoxswainCore
import CoxswainSandbox
import Foundation
import Testing
import Yams

/// The chart in deploy/helm/coxswain, rendered, linted and installed with the real helm 3 and 4.
@Suite("the Helm chart", .enabled(if: !RealTools.matrix.isEmpty))
struct HelmChartTests {
    static let chart = Harness.repositoryRoot.appendingPathComponent("deploy/helm/coxswain").path

    /// `helm template` with `values`, as the objects it renders.
    static func render(_ pair: RealTools.Pair, values: String = "", namespace: String = "coxswain") async throws -> [[String: Any]] {
        var arguments = ["template", "coxswain", chart, "-n", namespace]
        if !values.isEmpty {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("values-\(UUID().uuidString).yaml")
            try values.write(to: file, atomically: true, encoding: .utf8)
            arguments += ["-f", file.path]
        }
        let output = try await SandboxSetup.run(pair.tools.helm, arguments, environment: ["HOME": FileManager.default.temporaryDirectory.path])
        return try Yams.load_all(yaml: output).compactMap { $0 as? [String: Any] }
    }

    static func objects(_ objects: [[String: Any]], kind: String) -> [[String: Any]] { objects.filter { $0["kind"] as? String == kind } }

    @Test("lint is clean; defaults render one Recreate replica, hardened, probed, with a grace longer than the runbooks' timeouts", arguments: RealTools.matrix)
    func defaults(pair: RealTools.Pair) async throws {
        let lint = try await SandboxSetup.run(pair.tools.helm, ["lint", "--strict", Self.chart], environment: ["HOME": NSTemporaryDirectory()])
        #expect(lint.contains("0 chart(s) failed"), "\(lint)")
        let objects = try await Self.render(pair)
        let kinds = Set(objects.compactMap { $0["kind"] as? String })
        #expect(
            kinds == [
                "ServiceAccount", "ConfigMap", "PersistentVolumeClaim", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Service", "Deployment",
                "NetworkPolicy",
            ], "\(kinds)")
        // Cluster-wide: only the capacity check's reads, and none without it.
        let clusterRules = Self.objects(objects, kind: "ClusterRole").flatMap { $0["rules"] as? [[String: Any]] ?? [] }
        #expect(clusterRules.map { $0["resources"] as? [String] ?? [] } == [["nodes"], ["pods"]], "\(clusterRules)")
        #expect(Set(clusterRules.flatMap { $0["verbs"] as? [String] ?? [] }).isSubset(of: ["get", "list"]), "\(clusterRules)")
        let without = Set(try await Self.render(pair, values: "rbac: { capacityCheck: false }").compactMap { $0["kind"] as? String })
        #expect(!without.contains("ClusterRole") && !without.contains("ClusterRoleBinding"), "nothing cluster-wide: \(without)")
        let deployment = try #require(Self.objects(objects, kind: "Deployment").first)
        let spec = try #require(deployment["spec"] as? [String: Any])
        #expect(spec["replicas"] as? Int == 1 && (spec["strategy"] as? [String: Any])?["type"] as? String == "Recreate")
        let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        #expect(pod["terminationGracePeriodSeconds"] as? Int == 720)
        #expect((pod["securityContext"] as? [String: Any])?["runAsNonRoot"] as? Bool == true)
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        #expect((container["securityContext"] as? [String: Any])?["readOnlyRootFilesystem"] as? Bool == true)
        #expect(((container["livenessProbe"] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String == "/healthz")
        #expect(((container["readinessProbe"] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String == "/readyz")
        #expect((container["resources"] as? [String: Any])?["requests"] != nil)
        let environment = (container["env"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(environment.contains("SLACK_BOT_TOKEN_FILE") && !environment.contains("SLACK_BOT_TOKEN"), "secrets as files only")
        // The configuration the chart writes is one Coxswain accepts, with a grace to match.
        let map = try #require(Self.objects(objects, kind: "ConfigMap").first?["data"] as? [String: Any])
        let configuration = try ConfigurationLoader.parse(yaml: try #require(map["coxswain.yaml"] as? String), file: "configmap")
        #expect(configuration.worker.shutdownGrace.seconds == 660)
        #expect(configuration.server.port == 8080 && configuration.server.operatorHost == "0.0.0.0")
    }

    /// The ingress rules of the rendered NetworkPolicy: port name -> the peers admitted there.
    static func admitted(_ objects: [[String: Any]]) throws -> [String: [[String: Any]]] {
        let policy = try #require(Self.objects(objects, kind: "NetworkPolicy").first)
        let spec = try #require(policy["spec"] as? [String: Any])
        #expect(spec["policyTypes"] as? [String] == ["Ingress"])
        var rules: [String: [[String: Any]]] = [:]
        for rule in spec["ingress"] as? [[String: Any]] ?? [] {
            for port in rule["ports"] as? [[String: Any]] ?? [] { rules[port["port"] as? String ?? "?", default: []] += rule["from"] as? [[String: Any]] ?? [] }
        }
        return rules
    }

    @Test("the NetworkPolicy admits Slack's port from the ingress controller and the operators' port from Prometheus only", arguments: RealTools.matrix)
    func networkPolicy(pair: RealTools.Pair) async throws {
        let defaults = try Self.admitted(try await Self.render(pair))
        #expect(Set(defaults.keys) == ["http", "operator"])
        let ingress = (defaults["http"]?.first?["namespaceSelector"] as? [String: Any])?["matchLabels"] as? [String: String]
        #expect(ingress == ["kubernetes.io/metadata.name": "ingress-nginx"])
        let prometheus = try #require(defaults["operator"]?.first)
        #expect((prometheus["podSelector"] as? [String: Any])?["matchLabels"] as? [String: String] == ["app.kubernetes.io/name": "prometheus"])
        // Socket Mode: nothing calls in on Slack's port; routers named by the values reach the operators' port.
        let values = """
            config: { slack: { mode: socket } }
            slackSecret: { appTokenKey: app-token, signingSecretKey: "" }
            networkPolicy:
              operatorFrom:
                - namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: routing } }
            """
        let socket = try Self.admitted(try await Self.render(pair, values: values))
        #expect(Array(socket.keys) == ["operator"])
        #expect(socket["operator"]?.count == 1)
        let off = try await Self.render(pair, values: "networkPolicy: { enabled: false }")
        #expect(Self.objects(off, kind: "NetworkPolicy").isEmpty)
    }

    @Test("RBAC: a Role in exactly the namespaces the configuration names, with the verbs helm and kubectl need", arguments: RealTools.matrix)
    func rbacFollowsTheConfiguration(pair: RealTools.Pair) async throws {
        let values = """
            config:
              environments:
                development: { namespace: system }
                staging: { namespace: staging }
                production: { namespace: production, approvals: 1 }
              releases:
                llama-2-7b-production: { model: llama-2-7b, environment: production, endpoint: "http://x:8000" }
                router: { model: router, environment: production, namespace: routing, endpoint: "http://y:8000" }
            """
        let objects = try await Self.render(pair, values: values)
        let roles = Self.objects(objects, kind: "Role")
        let namespaces = Set(roles.compactMap { ($0["metadata"] as? [String: Any])?["namespace"] as? String })
        #expect(namespaces == ["system", "staging", "production", "routing"])
        #expect(Set(Self.objects(objects, kind: "RoleBinding").compactMap { ($0["metadata"] as? [String: Any])?["namespace"] as? String }) == namespaces)
        let rules = try #require(roles.first?["rules"] as? [[String: Any]])
        func verbs(_ resource: String) -> Set<String> {
            Set(rules.filter { ($0["resources"] as? [String])?.contains(resource) == true }.flatMap { $0["verbs"] as? [String] ?? [] })
        }
        #expect(verbs("secrets") == ["get", "list", "watch", "create", "update", "patch", "delete"])
        #expect(verbs("pods") == ["get", "list", "watch"] && verbs("replicasets") == ["get", "list", "watch"])
        #expect(verbs("deployments").contains("patch"))
        #expect(!rules.contains { ($0["resources"] as? [String])?.contains("*") == true || ($0["verbs"] as? [String])?.contains("*") == true })
        #expect(verbs("helmreleases").isEmpty && !namespaces.contains("argocd"), "GitOps objects only when configured")
        // Configured: read the Applications in Argo CD's namespace and Flux's objects where the releases are.
        let gitops = try await Self.render(pair, values: values + "\nrbac: { gitops: { argocdNamespace: argocd, flux: true } }")
        let argo = Self.objects(gitops, kind: "Role").filter { ($0["metadata"] as? [String: Any])?["namespace"] as? String == "argocd" }
        #expect(argo.count == 1 && (argo.first?["rules"] as? [[String: Any]])?.first?["resources"] as? [String] == ["applications"], "\(argo)")
        let fluxRules = Self.objects(gitops, kind: "Role").flatMap { $0["rules"] as? [[String: Any]] ?? [] }
        #expect(fluxRules.contains { ($0["resources"] as? [String]) == ["helmreleases", "kustomizations"] && ($0["verbs"] as? [String]) == ["get"] })
        // gitops: suspend patches them; only when asked for.
        let suspending = try await Self.render(pair, values: values + "\nrbac: { gitops: { argocdNamespace: argocd, flux: true, suspend: true } }")
        let patching = Self.objects(suspending, kind: "Role").flatMap { $0["rules"] as? [[String: Any]] ?? [] }.filter {
            ($0["verbs"] as? [String]) == ["get", "patch"]
        }
        #expect(patching.compactMap { ($0["resources"] as? [String])?.first }.sorted() == ["applications"] + Array(repeating: "helmreleases", count: 4))
    }

    @Test(
        "non-default values: ingress for Slack's routes only, ServiceMonitor, alerts, own runbooks, an existing claim, Socket Mode's token",
        arguments: RealTools.matrix)
    func options(pair: RealTools.Pair) async throws {
        let values = """
            ingress: { enabled: true, host: coxswain.internal.example.com }
            metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } }
            persistence: { existingClaim: coxswain-data }
            slackSecret: { appTokenKey: app-token, signingSecretKey: "" }
            config: { slack: { mode: socket } }
            runbooks:
              rollback.yaml: |
                command: /rollback
            """
        let objects = try await Self.render(pair, values: values)
        let kinds = objects.compactMap { $0["kind"] as? String }
        #expect(kinds.contains("Ingress") && kinds.contains("ServiceMonitor") && kinds.contains("PrometheusRule"))
        #expect(!kinds.contains("PersistentVolumeClaim"))
        let ingress = try #require(Self.objects(objects, kind: "Ingress").first)
        let paths = (((ingress["spec"] as? [String: Any])?["rules"] as? [[String: Any]])?.first?["http"] as? [String: Any])?["paths"] as? [[String: Any]]
        #expect(paths?.compactMap { $0["path"] as? String } == ["/slack"])
        let alerts =
            (((Self.objects(objects, kind: "PrometheusRule").first?["spec"] as? [String: Any])?["groups"] as? [[String: Any]])?.first?["rules"]
            as? [[String: Any]])?.compactMap { $0["alert"] as? String }
        #expect(alerts == ["CoxswainOutboxStuck", "CoxswainJobOverdue", "CoxswainBreakGlassUnacknowledged"])
        let maps = Self.objects(objects, kind: "ConfigMap")
        #expect(maps.count == 2)
        let config = try #require(
            (maps.first { ($0["data"] as? [String: Any])?["coxswain.yaml"] != nil }?["data"] as? [String: Any])?["coxswain.yaml"] as? String)
        #expect(config.contains("commands: /etc/coxswain/commands"))
        let container = try #require(
            ((((Self.objects(objects, kind: "Deployment").first?["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])?[
                "containers"] as? [[String: Any]])?.first)
        let variables = (container["env"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(variables.contains("SLACK_APP_TOKEN_FILE") && !variables.contains("SLACK_SIGNING_SECRET_FILE"))
        #expect(config.contains("mode: socket"))
    }

    @Test(
        "three replicas on PostgreSQL: RollingUpdate, a disruption budget, spread across nodes, the password as a file, no volume", arguments: RealTools.matrix)
    func replicas(pair: RealTools.Pair) async throws {
        let url = "postgres://coxswain@db.example:5432/coxswain?sslmode=verify-full&sslrootcert=/run/secrets/coxswain-db-ca/ca.crt"
        let values = """
            replicas: 3
            database: { url: "\(url)", passwordSecret: { name: coxswain-db }, caSecret: { name: coxswain-db-ca } }
            auditSigningKeySecret: { name: coxswain-audit }
            """
        let objects = try await Self.render(pair, values: values)
        let kinds = objects.compactMap { $0["kind"] as? String }
        #expect(kinds.contains("PodDisruptionBudget") && !kinds.contains("PersistentVolumeClaim"))
        let budget = try #require(Self.objects(objects, kind: "PodDisruptionBudget").first?["spec"] as? [String: Any])
        #expect(budget["maxUnavailable"] as? Int == 1)
        let spec = try #require(Self.objects(objects, kind: "Deployment").first?["spec"] as? [String: Any])
        #expect(spec["replicas"] as? Int == 3)
        let strategy = try #require(spec["strategy"] as? [String: Any])
        #expect(strategy["type"] as? String == "RollingUpdate" && (strategy["rollingUpdate"] as? [String: Any])?["maxUnavailable"] as? Int == 0)
        let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        let affinity = (pod["affinity"] as? [String: Any])?["podAntiAffinity"] as? [String: Any]
        let term = (affinity?["preferredDuringSchedulingIgnoredDuringExecution"] as? [[String: Any]])?.first?["podAffinityTerm"] as? [String: Any]
        #expect(term?["topologyKey"] as? String == "kubernetes.io/hostname")
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        let variables = (container["env"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(variables.contains("COXSWAIN_DATABASE_PASSWORD_FILE") && !variables.contains("COXSWAIN_DATABASE_PASSWORD"))
        #expect(variables.contains("COXSWAIN_AUDIT_SIGNING_KEY_FILE") && !variables.contains("COXSWAIN_AUDIT_SIGNING_KEY"))
        let mounts = (container["volumeMounts"] as? [[String: Any]] ?? []).compactMap { $0["mountPath"] as? String }
        #expect(mounts.contains("/run/secrets/coxswain-db") && mounts.contains("/run/secrets/coxswain-db-ca") && !mounts.contains("/var/lib/coxswain"))
        #expect(mounts.contains("/run/secrets/coxswain-audit"))
        let map = try #require(Self.objects(objects, kind: "ConfigMap").first?["data"] as? [String: Any])
        let configuration = try ConfigurationLoader.parse(yaml: try #require(map["coxswain.yaml"] as? String), file: "configmap")
        #expect(configuration.postgres?.host == "db.example" && configuration.postgres?.sslMode == .verifyFull)

        // More than one replica on SQLite, or PostgreSQL without its password's Secret: refused, saying why.
        for (values, message) in [
            ("replicas: 2", "replicas: 2 needs PostgreSQL"), ("database: { url: \"\(url)\" }", "name the Secret with its password"),
            ("database: { url: \"/var/lib/db.sqlite\", passwordSecret: { name: x } }", "database.url must be a postgres://"),
        ] {
            do {
                _ = try await Self.render(pair, values: values)
                Issue.record("rendered with \(values)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }

    @Test(
        "the copy-to-PostgreSQL pod mounts what the chart made for release `coxswain`: its ConfigMap, its PVC, at the chart's paths",
        arguments: RealTools.matrix)
    func copyPod(pair: RealTools.Pair) async throws {
        let objects = try await Self.render(pair)
        let file = Harness.repositoryRoot.appendingPathComponent("deploy/kubernetes/copy-to-postgres.yaml")
        let pod = try #require(try Yams.load(yaml: String(contentsOf: file, encoding: .utf8)) as? [String: Any])
        let spec = try #require(pod["spec"] as? [String: Any])
        let volumes = spec["volumes"] as? [[String: Any]] ?? []
        let claim = (volumes.first { $0["name"] as? String == "data" }?["persistentVolumeClaim"] as? [String: Any])?["claimName"] as? String
        let map = (volumes.first { $0["name"] as? String == "config" }?["configMap"] as? [String: Any])?["name"] as? String
        #expect(claim == (Self.objects(objects, kind: "PersistentVolumeClaim").first?["metadata"] as? [String: Any])?["name"] as? String)
        #expect(map == (Self.objects(objects, kind: "ConfigMap").first?["metadata"] as? [String: Any])?["name"] as? String)
        let container = try #require((spec["containers"] as? [[String: Any]])?.first)
        let arguments = container["args"] as? [String] ?? []
        #expect(Array(arguments.prefix(4)) == ["migrate", "--config", "/etc/coxswain/coxswain.yaml", "--to"])
        #expect(arguments.last.map { if case .success = PostgresAddress.parse($0) { true } else { false } } == true)
        let mounts = (container["volumeMounts"] as? [[String: Any]] ?? []).compactMap { $0["mountPath"] as? String }
        #expect(mounts.contains("/var/lib/coxswain") && mounts.contains("/etc/coxswain"))
        let variables = (container["env"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(variables == ["COXSWAIN_DATABASE_PASSWORD_FILE"])
    }

    @Test("the chart installs into the sandbox cluster with the real helm and comes up ready", arguments: RealTools.matrix)
    func installs(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            let output = try await world.setup.helm(["install", "coxswain", Self.chart, "-n", "coxswain", "--create-namespace", "--wait", "--timeout", "60s"])
            #expect(output.contains("STATUS: deployed"), "\(output)")
            let roles = try await world.setup.kubectl(["get", "roles", "-n", "production", "-o", "name"])
            #expect(roles.contains("role.rbac.authorization.k8s.io/coxswain"), "\(roles)")
            let pods = try await world.setup.kubectl(["get", "pods", "-n", "coxswain", "-o", "jsonpath={.items[*].status.phase}"])
            #expect(pods == "Running", "\(pods)")
        }
    }

    @Test("Mattermost: its tokens as files from their Secret, its server alone admitted to the chat port for its routes", arguments: RealTools.matrix)
    func mattermost(pair: RealTools.Pair) async throws {
        let values = """
            mattermostSecret: { name: coxswain-mattermost }
            networkPolicy:
              mattermostFrom:
                - namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: mattermost } }
            config:
              mattermost: { url: "https://mattermost.example.com", public_url: "http://coxswain.coxswain.svc:8080" }
            """
        let objects = try await Self.render(pair, values: values)
        let pod = try #require(
            ((Self.objects(objects, kind: "Deployment").first?["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        let variables = (container["env"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(variables.contains("MATTERMOST_BOT_TOKEN_FILE") && variables.contains("MATTERMOST_COMMAND_TOKENS_FILE"))
        #expect(!variables.contains("MATTERMOST_BOT_TOKEN"), "the token itself is never in the pod's environment")
        let volume = (pod["volumes"] as? [[String: Any]] ?? []).first { $0["name"] as? String == "mattermost" }
        #expect((volume?["secret"] as? [String: Any])?["secretName"] as? String == "coxswain-mattermost")
        let rules = ((Self.objects(objects, kind: "NetworkPolicy").first?["spec"] as? [String: Any])?["ingress"] as? [[String: Any]]) ?? []
        let admitted = rules.flatMap { ($0["from"] as? [[String: Any]]) ?? [] }.compactMap {
            (($0["namespaceSelector"] as? [String: Any])?["matchLabels"] as? [String: Any])?["kubernetes.io/metadata.name"] as? String
        }
        #expect(admitted.contains("mattermost"), "\(rules)")
        let map = try #require(Self.objects(objects, kind: "ConfigMap").first?["data"] as? [String: Any])
        let configuration = try ConfigurationLoader.parse(yaml: try #require(map["coxswain.yaml"] as? String), file: "configmap")
        #expect(configuration.mattermost?.url.host == "mattermost.example.com")
        // Without it, nothing of Mattermost is rendered.
        let plain = try await Self.render(pair)
        let plainVariables = plain.description
        #expect(!plainVariables.contains("MATTERMOST"))
    }
}


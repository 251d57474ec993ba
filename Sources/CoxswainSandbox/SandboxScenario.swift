import Foundation

/// What `coxswain sandbox` sets up: three model releases installed with the real helm, one
/// per environment, production mid-incident, and a Coxswain configuration for them with an
/// operator and a second person who approves.
public enum SandboxScenario {
    public static let operatorID = "U0SANDBOXOPS"
    public static let approverID = "U0SANDBOXAPPROVER"
    public static let namespaces = ["development", "staging", "production"]

    /// Each release and the chart versions it goes through, oldest first. Production's
    /// 0.3.0 crash-loops (helm marks it failed); 0.4.0 deployed fine but answers in 4 s.
    public static let releases: [(name: String, namespace: String, versions: [String])] = [
        ("llama-2-7b-development", "development", ["0.1.0", "0.2.0"]),
        ("llama-2-7b-staging", "staging", ["0.1.0", "0.2.0"]),
        ("llama-2-7b-production", "production", ["0.1.0", "0.2.0", "0.3.0", "0.4.0"]),
    ]

    /// Eight GPUs: the three releases take six, and an embedding batch job the last two, so a
    /// production rollback has no room for an extra pod (a GPU-bound incident).
    public static let nodes = [SandboxNode(name: "gpu-node-1", gpus: 4), SandboxNode(name: "gpu-node-2", gpus: 4)]
    public static let batchJob = (name: "embedder-batch", namespace: "staging", replicas: 2)

    /// Installs the batch job that fills the GPU pool, after the releases.
    public static func fillThePool(_ setup: SandboxSetup) async throws {
        try await setup.helm([
            "install", batchJob.name, SandboxSetup.chartReference, "--version", "0.1.0", "-n", batchJob.namespace, "--set", "replicaCount=\(batchJob.replicas)",
            "--set", "model=bge-large", "--wait", "--timeout", "60s",
        ])
    }

    /// Coxswain's configuration for the sandbox listening on `port`.
    public static func configuration(port: Int, tools: SandboxTools, commands: String, database: String) -> String {
        let base = "http://127.0.0.1:\(port)"
        let releases = Self.releases.map { release in
            let environment = release.namespace
            return """
                  \(release.name):
                    model: llama-2-7b
                    environment: \(environment)
                    endpoint: \(base)/models/\(release.namespace)/\(release.name)
                    chart: \(SandboxSetup.chartReference)
                """
        }.joined(separator: "\n")
        return """
            # Written by `coxswain sandbox` for its simulated cluster; not for real use.
            server: { host: 127.0.0.1, port: 0, operator_host: 127.0.0.1, operator_port: 0 }
            database: \(database)
            commands: \(commands)
            slack: { api_url: "\(base)/slack/api", audit_channel: C0AUDIT }
            cluster: { helm: \(tools.helm.path), kubectl: \(tools.kubectl.path), read_timeout: 20s }
            worker: { shutdown_grace: 30s, lease_duration: 30s }
            environments:
              development: { namespace: development }
              staging: { namespace: staging }
              production: { namespace: production, approvals: 1, approval_ttl: 30m, channels: [C0OPS, console], capacity: { when_short: neutral } }
            releases:
            \(releases)
            roles:
              operator: { grants: [read, rollback, upgrade, cancel, emergency], environments: [development, staging, production] }
              approver: { grants: [read, approve, cancel], environments: [development, staging, production] }
            members:
              \(operatorID): [operator]
              \(approverID): [approver]
            """
    }
}

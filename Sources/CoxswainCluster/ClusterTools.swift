import CoxswainCore

/// The cluster as Coxswain reaches it: helm and kubectl as the configuration names them,
/// started by one runner with the allow-listed environment. Built once per server.
public struct ClusterTools: Sendable {
    public let runner: CommandRunner
    public let helm: HelmClient
    public let kubectl: KubectlClient

    /// - Parameters:
    ///   - environment: the server's environment; helm and kubectl get only its allow-listed part.
    ///   - observe: hears every command that ended (for metrics).
    public init(_ cluster: CoxswainConfiguration.Cluster, environment: [String: String], observe: @escaping @Sendable (ProcessOutput) -> Void) {
        runner = CommandRunner(
            searchPath: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", environment: environment, passing: cluster.passEnvironment,
            observe: observe)
        helm = HelmClient(runner: runner, program: cluster.helm, kubeContext: cluster.kubeContext, readTimeout: cluster.readTimeout)
        kubectl = KubectlClient(runner: runner, program: cluster.kubectl, kubeContext: cluster.kubeContext, readTimeout: cluster.readTimeout)
    }
}

import Foundation

/// A folder with the `helm` and `kubectl` stand-ins and the cluster state they answer
/// from. Put `directory` first on the server's PATH.
struct StandInCluster {
    let directory: URL

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    init(state: [String: Any]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for program in ["helm", "kubectl"] {
            let target = directory.appendingPathComponent(program)
            try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("standins/\(program)"), to: target)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: target.path)
        }
        try JSONSerialization.data(withJSONObject: state, options: [.prettyPrinted]).write(to: directory.appendingPathComponent("cluster.json"))
    }

    /// Every call the stand-ins received, as argv arrays, in order.
    func calls() throws -> [[String]] {
        let url = directory.appendingPathComponent("calls.jsonl")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONDecoder().decode([String].self, from: Data($0.utf8)) }
    }

    /// Every call with the pid of the process that made it (the server), in order.
    func callsByParent() throws -> [(parent: Int, argv: [String])] {
        let url = directory.appendingPathComponent("parents.jsonl")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { line in
            let items = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [Any] ?? []
            return (items.first as? Int ?? 0, items.dropFirst().compactMap { $0 as? String })
        }
    }

    /// The environment variable names each stand-in call saw.
    func environments() throws -> [[String]] {
        let url = directory.appendingPathComponent("env.jsonl")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONDecoder().decode([String].self, from: Data($0.utf8)) }
    }

    func state() throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent("cluster.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// Changes the cluster behind Coxswain's back (someone else deploys, pods change).
    func change(_ edit: (inout [String: Any]) -> Void) throws {
        var current = try state()
        edit(&current)
        try JSONSerialization.data(withJSONObject: current, options: [.prettyPrinted])
            .write(to: directory.appendingPathComponent("cluster.json"), options: .atomic)
    }

    // MARK: building cluster states

    static func revision(
        _ number: Int, _ status: String, chart: String = "vllm-deployment-0.2.0", app: String = "0.4.1",
        description: String = "Upgrade complete"
    ) -> [String: Any] {
        [
            "revision": number, "updated": "2026-11-2\(number % 10) 10:00:00.000000000 +0000 UTC", "status": status,
            "chart": chart, "app_version": app, "description": description,
        ]
    }

    static func pod(
        _ name: String, release: String, namespace: String, ready: Bool, reason: String? = nil,
        restarts: Int = 0, lastTerminated: String? = nil
    ) -> [String: Any] {
        var pod: [String: Any] = ["name": name, "instance": release, "namespace": namespace, "ready": ready, "restarts": restarts]
        if let reason { pod["reason"] = reason }
        if let lastTerminated { pod["last_terminated"] = lastTerminated }
        return pod
    }

    /// llama-2-7b-production in `production`: revisions 1-3 superseded, 4 failed, 5 deployed,
    /// so the last good revision is 3, where helm's blind "current minus one" would pick
    /// the failed 4. Its pods crash-loop until the rollback.
    static func standardRelease(
        rollbackError: String? = nil, podsAfterRollback: [[String: Any]]? = nil,
        revisions: [[String: Any]]? = nil
    ) -> [String: Any] {
        let name = "llama-2-7b-production"
        var release: [String: Any] = [
            "namespace": "production",
            "revisions": revisions ?? [
                revision(1, "superseded", chart: "vllm-deployment-0.1.0", app: "0.3.0", description: "Install complete"),
                revision(2, "superseded", chart: "vllm-deployment-0.1.0", app: "0.4.0"),
                revision(3, "superseded", chart: "vllm-deployment-0.2.0", app: "0.4.1"),
                revision(
                    4, "failed", chart: "vllm-deployment-0.3.0", app: "0.5.0",
                    description: "Upgrade \"llama-2-7b-production\" failed: context deadline exceeded"),
                revision(5, "deployed", chart: "vllm-deployment-0.3.0", app: "0.5.1"),
            ],
            "pods_after_rollback": podsAfterRollback ?? [
                pod("\(name)-7b8f9d5c-x7k2m", release: name, namespace: "production", ready: true),
                pod("\(name)-7b8f9d5c-q9w4z", release: name, namespace: "production", ready: true),
            ],
        ]
        if let rollbackError { release["rollback_error"] = rollbackError }
        return [
            "releases": [name: release],
            "pods": [pod("\(name)-6c7d8e9f-a1b2c", release: name, namespace: "production", ready: false, reason: "CrashLoopBackOff", restarts: 5)],
        ]
    }
}

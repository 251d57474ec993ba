import Foundation

/// Suspending a GitOps controller's automated sync around a change, and putting it back.
///
/// What was there before is kept on the object itself, in the annotation
/// `coxswain.dev/suspended-sync`: `/resume-sync` finds it from any replica, days later, and
/// whoever reads the Application or HelmRelease sees who turned its sync off and why.
/// Both are JSON merge patches (`kubectl patch --type merge`).
public enum GitOpsSuspension {
    public static let annotation = "coxswain.dev/suspended-sync"

    /// What the owner object says now.
    public struct State: Sendable, Equatable {
        /// Argo CD automated sync on; a Flux object not suspended.
        public var syncing: Bool
        /// The saved annotation (JSON text) when Coxswain suspended it.
        public var saved: String?
        /// Argo CD's comparison of the cluster with Git (`Synced`, `OutOfSync`); nil for Flux or when unknown.
        public var syncStatus: String?
    }

    public enum ResumeProblem: Error, Sendable, Equatable {
        /// Sync is on already: nothing to put back.
        case alreadySyncing
        /// Argo CD's automated sync is off, but not by Coxswain: its policy is unknown here.
        case notSuspendedByCoxswain
        /// The object or the saved annotation could not be read.
        case unreadable(String)
    }

    public static func state(ownerJSON: Data, tool: GitOpsOwner.Tool) -> State? {
        guard let object = (try? JSONSerialization.jsonObject(with: ownerJSON)) as? [String: Any],
            let syncing = GitOpsOwner.autoSync(ownerJSON: ownerJSON, tool: tool)
        else { return nil }
        let annotations = (object["metadata"] as? [String: Any])?["annotations"] as? [String: Any]
        let status = ((object["status"] as? [String: Any])?["sync"] as? [String: Any])?["status"] as? String
        return State(syncing: syncing, saved: annotations?[annotation] as? String, syncStatus: tool == .argoCD ? status : nil)
    }

    /// The patch that turns sync off and remembers what it was; nil when the object cannot be
    /// read as one. Argo CD: `spec.syncPolicy.automated` saved and removed; Flux: `spec.suspend: true`.
    public static func suspendPatch(ownerJSON: Data, tool: GitOpsOwner.Tool, job: Int64) -> String? {
        guard let object = (try? JSONSerialization.jsonObject(with: ownerJSON)) as? [String: Any],
            let spec = object["spec"] as? [String: Any]
        else { return nil }
        var saved: [String: Any] = ["job": job]
        let change: [String: Any]
        switch tool {
        case .argoCD:
            saved["automated"] = ((spec["syncPolicy"] as? [String: Any])?["automated"]) ?? NSNull()
            change = ["syncPolicy": ["automated": NSNull()]]
        case .flux:
            change = ["suspend": true]
        }
        guard let savedText = json(saved) else { return nil }
        return json(["metadata": ["annotations": [annotation: savedText]], "spec": change])
    }

    /// The patch that puts back what `suspendPatch` saved and removes the annotation.
    public static func resumePatch(ownerJSON: Data, tool: GitOpsOwner.Tool) -> Result<String, ResumeProblem> {
        guard let state = state(ownerJSON: ownerJSON, tool: tool) else { return .failure(.unreadable("the object has no spec")) }
        let forget: [String: Any] = ["annotations": [annotation: NSNull()]]
        switch tool {
        case .flux:
            guard !state.syncing else { return .failure(.alreadySyncing) }
            return json(["metadata": forget, "spec": ["suspend": false]]).map { .success($0) } ?? .failure(.unreadable("no JSON"))
        case .argoCD:
            guard let saved = state.saved else { return .failure(state.syncing ? .alreadySyncing : .notSuspendedByCoxswain) }
            guard state.syncing == false else {
                // Someone turned it on again by hand: only the note goes.
                return json(["metadata": forget]).map { .success($0) } ?? .failure(.unreadable("no JSON"))
            }
            guard let record = (try? JSONSerialization.jsonObject(with: Data(saved.utf8))) as? [String: Any],
                let automated = record["automated"] as? [String: Any]
            else { return .failure(.unreadable("the annotation \(annotation) does not hold the saved automated sync policy: \(saved.prefix(200))")) }
            return json(["metadata": forget, "spec": ["syncPolicy": ["automated": automated]]]).map { .success($0) } ?? .failure(.unreadable("no JSON"))
        }
    }

    static func json(_ value: [String: Any]) -> String? {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

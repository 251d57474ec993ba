import Foundation

/// One row of `helm history REL -o json`.
public struct HelmRevision: Sendable, Equatable, Codable {
    public var revision: Int
    public var updated: String
    public var status: String
    public var chart: String
    public var appVersion: String
    public var description: String

    enum CodingKeys: String, CodingKey {
        case revision, updated, status, chart, description
        case appVersion = "app_version"
    }

    public init(revision: Int, updated: String = "", status: String, chart: String, appVersion: String, description: String = "") {
        self.revision = revision; self.updated = updated; self.status = status
        self.chart = chart; self.appVersion = appVersion; self.description = description
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        revision = try c.decode(Int.self, forKey: .revision)
        updated = try c.decodeIfPresent(String.self, forKey: .updated) ?? ""
        status = try c.decode(String.self, forKey: .status)
        chart = try c.decodeIfPresent(String.self, forKey: .chart) ?? ""
        appVersion = try c.decodeIfPresent(String.self, forKey: .appVersion) ?? ""
        // helm 4 writes a failed --wait's description over several lines; one line reads better everywhere.
        description = (try c.decodeIfPresent(String.self, forKey: .description) ?? "").split(separator: "\n").joined(separator: "; ")
    }

    /// "revision 4 (vllm-deployment-0.2.0, app 0.4.1)"
    public var summary: String { "revision \(revision) (\(chart.isEmpty ? "chart ?" : chart), app \(appVersion.isEmpty ? "?" : appVersion))" }
}

/// The part of `helm status REL -o json` Coxswain reads. (It has no chart: helm 3 and 4
/// print name, namespace, version, info and the manifest; `helm get metadata` has the chart.)
public struct HelmReleaseStatus: Sendable, Equatable, Decodable {
    public struct Info: Sendable, Equatable, Decodable {
        public var status: String
        public var description: String?
    }
    public var name: String
    public var version: Int
    public var namespace: String?
    public var info: Info
}

/// `helm get metadata REL -o json` (helm 3.13 and later): the current revision's chart.
public struct HelmReleaseMetadata: Sendable, Equatable, Decodable {
    public var name: String
    public var chart: String
    public var version: String
    public var appVersion: String?
    public var revision: Int
    public var status: String

    /// "vllm-deployment-0.3.0, app 0.5.1"
    public var chartSummary: String { "\(chart)-\(version), app \(appVersion.flatMap { $0.isEmpty ? nil : $0 } ?? "?")" }
}

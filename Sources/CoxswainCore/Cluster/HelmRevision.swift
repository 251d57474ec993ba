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
        description = try c.decodeIfPresent(String.self, forKey: .description) ?? ""
    }

    /// "revision 4 (vllm-deployment-0.2.0, app 0.4.1)"
    public var summary: String { "revision \(revision) (\(chart.isEmpty ? "chart ?" : chart), app \(appVersion.isEmpty ? "?" : appVersion))" }
}

/// The part of `helm status REL -o json` Coxswain reads.
public struct HelmReleaseStatus: Sendable, Equatable, Decodable {
    public struct Info: Sendable, Equatable, Decodable {
        public var status: String
        public var description: String?
    }
    public struct Chart: Sendable, Equatable, Decodable {
        public struct Metadata: Sendable, Equatable, Decodable {
            public var name: String?
            public var version: String?
            public var appVersion: String?
        }
        public var metadata: Metadata?
    }
    public var name: String
    public var version: Int
    public var namespace: String?
    public var info: Info
    public var chart: Chart?

    /// "vllm-deployment-0.3.0, app 0.5.1"
    public var chartSummary: String {
        let metadata = chart?.metadata
        return "\(metadata?.name ?? "?")-\(metadata?.version ?? "?"), app \(metadata?.appVersion ?? "?")"
    }
}

import CoxswainServer
import Crypto
import Foundation
import Testing

/// What can be checked of the container image without building it (`ContainerImageRunTests`
/// runs the built one): the helm and kubectl it installs are the pinned ones, checked by
/// SHA-256 against the binaries the test matrix runs; it puts the runbooks and its user where
/// the chart expects them; it copies everything the manifest names; the chart deploys it.
@Suite("the container image")
struct ContainerImageTests {
    static let dockerfile = Harness.repositoryRoot.appendingPathComponent("deploy/container/Dockerfile")

    static func read(_ path: String) throws -> String {
        try String(contentsOf: Harness.repositoryRoot.appendingPathComponent(path), encoding: .utf8)
    }

    @Test("the build stage copies every folder the manifest names, and the build context leaves out what is built locally")
    func buildContext() throws {
        let text = try String(contentsOf: Self.dockerfile, encoding: .utf8)
        let copied = text.components(separatedBy: "\n").filter { $0.hasPrefix("COPY ") && !$0.contains("--from") }.compactMap {
            $0.split(separator: " ").dropFirst().first.map(String.init)
        }
        let manifest = try Self.read("Package.swift")
        let customPaths = manifest.components(separatedBy: "path: \"").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
        for folder in ["Package.swift", "Sources", "Tests"] + customPaths {
            #expect(copied.contains { folder == $0 || folder.hasPrefix($0 + "/") }, "the Dockerfile does not copy \(folder), which Package.swift names")
        }
        let ignored = try Self.read(".dockerignore").components(separatedBy: "\n")
        for path in [".build", ".tools", ".git", "Package.resolved"] { #expect(ignored.contains(path), ".dockerignore: \(path)") }
    }

    @Test("the chart's default image is the one build-image.sh tags, at the version `coxswain --version` prints")
    func chartImage() throws {
        let chart = try Self.read("deploy/helm/coxswain/Chart.yaml")
        #expect(chart.contains("appVersion: \"\(CoxswainVersion.current)\""))
        #expect(try Self.read("deploy/helm/coxswain/values.yaml").contains("repository: ghcr.io/coxswain/coxswain"))
        #expect(try Self.read("deploy/container/build-image.sh").contains("tag=ghcr.io/coxswain/coxswain:$(sed -n 's/^appVersion: \"\\(.*\\)\"$/\\1/p'"))
    }

    @Test("the helm and kubectl checksums are those of the pinned pair the tests run")
    func checksums() throws {
        let text = try String(contentsOf: Self.dockerfile, encoding: .utf8)
        let pair = "helm-4.1.4-kubectl-1.35.2"
        #expect(text.contains("install-tools.py /tools \(pair)"))
        let folder = RealTools.folder.appendingPathComponent(pair)
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("helm").path) || RealTools.required else { return }
        for tool in ["helm", "kubectl"] {
            let data = try Data(contentsOf: folder.appendingPathComponent(tool))
            let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            #expect(text.contains("\(digest) \(tool)"), "\(tool): \(digest) is not the checksum in the Dockerfile")
        }
    }

    @Test("the runbooks, the user and the entrypoint are where the chart and the unit expect them")
    func layout() throws {
        let text = try String(contentsOf: Self.dockerfile, encoding: .utf8)
        let helpers = try String(
            contentsOf: Harness.repositoryRoot.appendingPathComponent("deploy/helm/coxswain/templates/_helpers.tpl"), encoding: .utf8)
        let deployment = try String(
            contentsOf: Harness.repositoryRoot.appendingPathComponent("deploy/helm/coxswain/templates/deployment.yaml"), encoding: .utf8)
        #expect(text.contains("COPY commands /usr/share/coxswain/commands") && helpers.contains("\"/usr/share/coxswain/commands\""))
        #expect(text.contains("USER 10001:10001") && deployment.contains("runAsUser: 10001"))
        #expect(text.contains("--static-swift-stdlib"))
        for library in ["libsqlite3-0", "ca-certificates"] { #expect(text.contains(library)) }
        #expect(!text.contains("libcurl4"), "the binary links no libcurl since outbound HTTP moved to AsyncHTTPClient")
        #expect(text.contains("ENTRYPOINT [\"/usr/local/bin/coxswain\"]"))
    }

    @Test("the image, the VM install and the benchmark's memory figures use one build: deploy/build-release.sh")
    func oneReleaseBuild() throws {
        func read(_ path: String) throws -> String {
            try String(contentsOf: Harness.repositoryRoot.appendingPathComponent(path), encoding: .utf8)
        }
        #expect(try read("deploy/container/Dockerfile").contains("RUN bash deploy/build-release.sh /coxswain"))
        #expect(try read("deploy/container/check-binary.sh").contains("binary=$(bash deploy/build-release.sh)"))
        #expect(try read("deploy/systemd/coxswain.service").contains("bash deploy/build-release.sh && install -m 0755 .build-static/coxswain"))
        #expect(try read("Benchmarks/run.sh").contains("deployed=$(bash deploy/build-release.sh"))
        let script = try read("deploy/build-release.sh")
        for part in ["--static-swift-stdlib", "-use-ld=lld", "--no-export-dynamic", "pack-relative-relocs", "install -D -s"] {
            #expect(script.contains(part), "deploy/build-release.sh: \(part)")
        }
    }
}

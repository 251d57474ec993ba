import Crypto
import Foundation
import Testing

/// What can be checked of the container image without a Docker engine (none runs here):
/// the helm and kubectl it installs are the pinned ones, checked by SHA-256 against the
/// binaries the test matrix runs; it puts the runbooks and its user where the chart expects
/// them. `deploy/container/check-binary.sh` checks the binary's shared libraries.
@Suite("the container image")
struct ContainerImageTests {
    static let dockerfile = Harness.repositoryRoot.appendingPathComponent("deploy/container/Dockerfile")

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

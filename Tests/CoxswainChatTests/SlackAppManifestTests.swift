import CoxswainChat
import CoxswainCore
import Foundation
import Testing
import Yams

@Suite struct SlackAppManifestTests {
    static let commandsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("commands").path

    @Test("the manifest declares every command from commands/ and the built-in ones, the interactivity URL and the scopes")
    func declaresEverything() throws {
        let texts = try FileManager.default.contentsOfDirectory(atPath: Self.commandsFolder).filter { $0.hasSuffix(".yaml") }.sorted().map {
            ($0, try String(contentsOfFile: Self.commandsFolder + "/" + $0, encoding: .utf8))
        }
        let catalog = CommandCatalog(runbooks: try RunbookSet.parse(files: texts, folder: Self.commandsFolder))
        let runbooks = catalog.runbooks.all
        let yaml = SlackAppManifest.render(baseURL: "https://cox.example.com/", commands: catalog.descriptions())
        let manifest = try #require(try Yams.load(yaml: yaml) as? [String: Any])
        let features = try #require(manifest["features"] as? [String: Any])
        let commands = try #require(features["slash_commands"] as? [[String: Any]])
        let names = commands.compactMap { $0["command"] as? String }
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.commandsFolder).filter { $0.hasSuffix(".yaml") }
        let builtIns = ["/approve", "/deny", "/confirm", "/cancel", "/ack", "/history", "/status", "/releases", "/jobs", "/watch", "/resume-sync", "/coxswain"]
        #expect(names.count == files.count + builtIns.count)
        for runbook in runbooks { #expect(names.contains(runbook.command)) }
        for builtIn in builtIns { #expect(names.contains(builtIn)) }
        #expect(commands.allSatisfy { $0["url"] as? String == "https://cox.example.com/slack/commands" })
        #expect(commands.first { $0["command"] as? String == "/rollback" }?["usage_hint"] as? String == "RELEASE [REVISION] [REASON…]")
        let settings = try #require(manifest["settings"] as? [String: Any])
        #expect((settings["interactivity"] as? [String: Any])?["request_url"] as? String == "https://cox.example.com/slack/interactions")
        let scopes = ((manifest["oauth_config"] as? [String: Any])?["scopes"] as? [String: Any])?["bot"] as? [String]
        #expect(scopes == SlackAppManifest.botScopes)
        #expect(scopes?.contains("channels:history") == true && scopes?.contains("channels:read") == true)
        #expect(settings["socket_mode_enabled"] as? Bool == false)
    }

    @Test("in Socket Mode the manifest enables it and names no request URL")
    func socketMode() throws {
        let yaml = SlackAppManifest.render(baseURL: nil, commands: [.init(command: "/rollback", description: "Roll back", usageHint: "RELEASE")])
        let manifest = try #require(try Yams.load(yaml: yaml) as? [String: Any])
        let settings = try #require(manifest["settings"] as? [String: Any])
        #expect(settings["socket_mode_enabled"] as? Bool == true)
        #expect((settings["interactivity"] as? [String: Any])?["is_enabled"] as? Bool == true)
        #expect((settings["interactivity"] as? [String: Any])?["request_url"] == nil)
        let command = ((manifest["features"] as? [String: Any])?["slash_commands"] as? [[String: Any]])?.first
        #expect(command?["command"] as? String == "/rollback")
        #expect(command?["url"] == nil)
        #expect(!yaml.contains("http"))
    }

    @Test func quotesTextThatWouldBreakYAML() throws {
        let yaml = SlackAppManifest.render(baseURL: "https://x", commands: [.init(command: "/x", description: "a: b # \"c\"", usageHint: "[A]")])
        let manifest = try #require(try Yams.load(yaml: yaml) as? [String: Any])
        let command = ((manifest["features"] as? [String: Any])?["slash_commands"] as? [[String: Any]])?.first
        #expect(command?["description"] as? String == "a: b # \"c\"")
        #expect(command?["usage_hint"] as? String == "[A]")
    }
}

import ArgumentParser
import CoxswainChat
import CoxswainCore
import Foundation

struct Manifest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a Slack app manifest (YAML) for this Coxswain: every slash command, the interactivity URL, the scopes.",
        discussion: "Paste it at api.slack.com/apps → Create New App → From an app manifest. Example: coxswain manifest --url https://coxswain.example.com")

    @Option(help: "The public base URL Slack reaches Coxswain at, e.g. https://coxswain.example.com.") var url: String
    @Option(help: "The runbook folder.") var commands: String = "commands"

    func run() async throws {
        guard let parsed = URL(string: url), parsed.scheme == "https" || parsed.scheme == "http", parsed.host != nil else {
            throw CLIError("--url must be the server's public base URL, e.g. https://coxswain.example.com; got \"\(url)\"")
        }
        let runbooks: [Runbook]
        do { runbooks = try CommandCatalog.loadRunbooks(directory: commands) } catch { throw CLIError("\(error)") }
        print(SlackAppManifest.render(baseURL: url, commands: CommandCatalog.all(runbooks: runbooks)), terminator: "")
    }
}

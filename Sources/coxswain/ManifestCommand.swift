import ArgumentParser
import CoxswainChat
import CoxswainCore
import Foundation

struct Manifest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a Slack app manifest (YAML) for this Coxswain: every slash command, the interactivity URL, the scopes.",
        discussion: "Paste it at api.slack.com/apps → Create New App → From an app manifest. Example: coxswain manifest --url https://coxswain.example.com")

    @Option(help: "The public base URL Slack reaches Coxswain at, e.g. https://coxswain.example.com.") var url: String
    @Option(help: "The runbook folder (default: the configuration's `commands:`, else ./commands).") var commands: String?
    @Option(help: ArgumentHelp("The configuration file, for its runbook folder and command_prefix (default: COXSWAIN_CONFIG).", valueName: "file"))
    var config: String?

    func run() async throws {
        guard let parsed = URL(string: url), parsed.scheme == "https" || parsed.scheme == "http", parsed.host != nil else {
            throw CLIError("--url must be the server's public base URL, e.g. https://coxswain.example.com; got \"\(url)\"")
        }
        let catalog: CommandCatalog
        do {
            let file = config ?? ProcessInfo.processInfo.environment["COXSWAIN_CONFIG"]
            let configuration = try file.map { try ConfigurationLoader.load(file: $0) }
            let folder = commands ?? configuration?.commandsDirectory ?? "commands"
            catalog = CommandCatalog(prefix: configuration?.commandPrefix ?? "", runbooks: try RunbookSet.load(directory: folder))
        } catch { throw CLIError("\(error)") }
        print(SlackAppManifest.render(baseURL: url, commands: catalog.descriptions()), terminator: "")
    }
}

import ArgumentParser
import CoxswainChat
import CoxswainCore
import CoxswainServer
import Foundation

struct Manifest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a Slack app manifest (YAML) for this Coxswain: every slash command, the interactivity URL, the scopes.",
        discussion: """
            Paste it at api.slack.com/apps → Create New App → From an app manifest.
            Request URLs: coxswain manifest --url https://coxswain.example.com
            Socket Mode (slack.mode: socket in the configuration, or --socket-mode): coxswain manifest --socket-mode
            Mattermost: coxswain manifest --mattermost prints the slash commands to create and their request URL
            (the configuration's mattermost.public_url, or --url).
            """)

    @Option(help: "The public base URL Slack reaches Coxswain at, e.g. https://coxswain.example.com.") var url: String?
    @Flag(help: "Socket Mode: no request URLs; Coxswain connects to Slack with SLACK_APP_TOKEN (the default when the configuration says slack.mode: socket).")
    var socketMode = false
    @Flag(help: "Mattermost: the slash commands to create (Integrations → Slash Commands), each with its request URL.")
    var mattermost = false
    @Option(help: "The runbook folder (default: the configuration's `commands:`, else ./commands).") var commands: String?
    @Option(help: ArgumentHelp("The configuration file, for its runbook folder and command_prefix (default: COXSWAIN_CONFIG).", valueName: "file"))
    var config: String?

    func run() async throws {
        let catalog: CommandCatalog
        let configuration: CoxswainConfiguration?
        do {
            let file = config ?? ProcessInfo.processInfo.environment["COXSWAIN_CONFIG"]
            configuration = try file.map { try ConfigurationFiles.configuration($0) }
            let folder = commands ?? configuration?.commandsDirectory ?? "commands"
            catalog = CommandCatalog(prefix: configuration?.commandPrefix ?? "", runbooks: try ConfigurationFiles.runbooks(folder))
        } catch { throw CLIError("\(error)") }
        if mattermost {
            guard let base = url ?? configuration?.mattermost?.publicURL.absoluteString, let parsed = URL(string: base), parsed.host != nil else {
                throw CLIError("say where Mattermost reaches Coxswain: --url https://coxswain.example.com, or mattermost.public_url in the configuration")
            }
            print(MattermostCommandList.render(baseURL: base, commands: catalog.descriptions()), terminator: "")
            return
        }
        let socket = socketMode || (url == nil && configuration?.slack.mode == .socket)
        if socket {
            guard url == nil else { throw CLIError("--url and Socket Mode exclude each other: Socket Mode has no request URLs. Drop one of them.") }
            print(SlackAppManifest.render(baseURL: nil, commands: catalog.descriptions()), terminator: "")
            return
        }
        guard let url else {
            throw CLIError(
                "say where Slack reaches Coxswain: --url https://coxswain.example.com (request URLs), or --socket-mode (no public endpoint)")
        }
        guard let parsed = URL(string: url), parsed.scheme == "https" || parsed.scheme == "http", parsed.host != nil else {
            throw CLIError("--url must be the server's public base URL, e.g. https://coxswain.example.com; got \"\(url)\"")
        }
        print(SlackAppManifest.render(baseURL: url, commands: catalog.descriptions()), terminator: "")
    }
}

import ArgumentParser
import CoxswainServer
import Foundation

/// `coxswain`: the chat-ops server for LLM model deployments, and the tools to inspect
/// what it did. Every subcommand reads the same configuration and database.
@main
struct Coxswain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coxswain",
        abstract: "Chat-ops for vLLM model deployments on Kubernetes: /rollback from Slack, validated and audited.",
        discussion: """
            Start the server with `coxswain serve --config coxswain.yaml` (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or \
            SLACK_APP_TOKEN in Socket Mode, in the environment). Try it first with `coxswain sandbox`. The other subcommands \
            read the same database.
            """,
        version: CoxswainVersion.current,
        subcommands: [
            Serve.self, Shell.self, RunCommand.self, Migrate.self, Registry.self, Jobs.self, Audit.self, Users.self, Manifest.self,
            DoctorCommand.self, Sandbox.self,
        ])
}

/// `--config FILE`, shared by every subcommand.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file (see deploy/coxswain.example.yaml).", valueName: "file"))
    var config: String = ProcessInfo.processInfo.environment["COXSWAIN_CONFIG"] ?? "coxswain.yaml"
}

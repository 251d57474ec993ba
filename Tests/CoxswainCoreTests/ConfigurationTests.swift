import CoxswainCore
import Foundation
import Testing

@Suite struct ConfigurationTests {
    @Test func theExampleConfigurationLoads() throws {
        let configuration = try RepositoryFiles.configuration("deploy/coxswain.example.yaml")
        let release = try #require(configuration.release(named: "llama-2-7b-production"))
        #expect(release.namespace == "production")
        #expect(release.hasReadyEndpoint)
        let policy = AccessPolicy(configuration: configuration)
        #expect(policy.decide(user: "U0123ALICE", permission: .rollback, environment: "production", channel: "C0OPS").isAllowed)
        #expect(!policy.decide(user: "U0123ALICE", permission: .rollback, environment: "production", channel: "C0RANDOM").isAllowed)
        #expect(!policy.decide(user: "U0456BOB", permission: .rollback, environment: "production", channel: "C0OPS").isAllowed)
        #expect(policy.decide(user: "U0999DAVE", groups: ["S0APPROVERS"], permission: .approve, environment: "production", channel: nil).isAllowed)
        #expect(configuration.environments["production"]?.approvals == 1)
        #expect(configuration.environments["staging"]?.approvals == 0)
        #expect(configuration.slack.apiURL.absoluteString == "https://slack.com/api")
    }

    @Test func errorsNameTheFileTheKeyAndWhatWasExpected() {
        func error(_ yaml: String) -> ConfigurationError? {
            do { _ = try ConfigurationLoader.parse(yaml: yaml, file: "c.yaml"); return nil } catch { return error as? ConfigurationError }
        }
        let base = "environments: { production: { namespace: production } }\n"
        #expect(error("releases: {}")?.key == "environments")
        #expect(error(base + "releases: { r: { model: m, environment: staging, endpoint: 'http://x:8000' } }")?.key == "releases.r.environment")
        #expect(error(base + "releases: { r: { model: m, environment: production, endpoint: 'not a url' } }")?.key == "releases.r.endpoint")
        #expect(error(base + "releases: { Bad_Name: { model: m, environment: production, endpoint: 'http://x' } }")?.key == "releases.Bad_Name")
        #expect(
            error(base + "releases: { r: { environment: production, endpoint: 'http://x' } }")?.description
                == "c.yaml:2:16: releases.r.model: is required but missing")
        #expect(error(base + "server: { port: lots }\nreleases: {}")?.key == "server.port")
        #expect(error(base + "releases: {}\nusers: { U1: [Prod_Env] }")?.problem.contains("is not one of the environments") == true)
        #expect(error(base + "releases: {}\nusers: { alice: [production] }")?.key == "users.alice")
        // A slip of the finger on a duration is a message, not a trap (a 20-digit one crashed start-up).
        for setting in ["usergroup_ttl: 99999999999999999999h", "worker: { shutdown_grace: 876001h }", "cluster: { read_timeout: 1e400s }"] {
            let problem = error(base + "releases: {}\n" + setting)
            #expect(problem?.problem.contains("at most 876000h") == true, "\(setting): \(String(describing: problem))")
        }
        let valid = "environments: { production: { namespace: production, approvals: 0 } }\nreleases: {}\n"
        #expect(error(valid + "worker: { shutdown_grace: 876000h }") == nil, "a hundred years is the longest accepted")
        #expect(GoDuration(seconds: .infinity).milliseconds == Int.max && GoDuration(seconds: .nan).milliseconds == 0)
    }

    /// Each of these once loaded and failed open (or waited for nobody).
    @Test("typos and dangling names stop start-up with the file, the line, the key and the nearest valid key")
    func failsClosed() {
        func error(_ yaml: String) -> ConfigurationError? {
            do { _ = try ConfigurationLoader.parse(yaml: yaml, file: "c.yaml"); return nil } catch { return error as? ConfigurationError }
        }
        let releases = "releases: { r: { model: m, environment: production, endpoint: 'http://x' } }\n"
        let typo = error("environments:\n  production:\n    namespace: production\n    approvals: 0\n    chanels: [C0OPS]\n" + releases)
        #expect(typo?.description == "c.yaml:5:5: `environments.production.chanels` is not a setting; did you mean `channels`?")
        #expect(
            error("environments: { production: { namespace: production, aprovals: 0 } }\n" + releases)?.problem.contains("did you mean `approvals`?") == true)
        #expect(
            error("environments: { production: { namespace: production, approvals: 0 } }\n" + releases + "member: { U1: [x] }")?.problem
                .contains("`member` is not a setting; did you mean `members`?") == true)
        let env = "environments: { production: { namespace: production, approvals: 0 } }\n" + releases
        #expect(error(env + "users: { U1: [prodution] }")?.problem.contains("\"prodution\" is not one of the environments; did you mean `production`?") == true)
        #expect(error(env + "roles: { r: { grants: rollback, environments: [production] } }")?.problem == "must be a list, e.g. [rollback, cancel]")
        #expect(error(env + "roles: { r: { grants: [rolback], environments: [production] } }")?.problem.contains("did you mean `rollback`?") == true)
        #expect(
            error(env + "roles: { r: { grants: [rollback], environments: [production] } }\nmembers: { U1: [rr] }")?.problem
                .contains("\"rr\" is not one of the roles; did you mean `r`?") == true)
        // Production needs an approval by default: someone must be able to give it.
        let noApprover = error("environments: { production: { namespace: production } }\n" + releases + "users: { U1: [production] }")
        #expect(noApprover?.key == "environments.production.approvals")
        #expect(noApprover?.problem.contains("add a role with grants: [approve] and environments: [production]") == true)
        let yaml = error("environments:\n  production: { namespace: production\n")
        #expect(yaml?.line == 3 && yaml?.problem.hasPrefix("is not valid YAML") == true)
        #expect(error("commands: commands\ncomands: x\n" + env)?.problem == "`comands` is not a setting; did you mean `commands`?")
    }

    @Test("relative paths are relative to the configuration file")
    func relativePaths() throws {
        let configuration = try ConfigurationLoader.parse(
            yaml: "database: db/c.sqlite\ncommands: ../runbooks\nenvironments: { production: { namespace: production, approvals: 0 } }\n"
                + "releases: { r: { model: m, environment: production, endpoint: 'http://x', values: [values.yaml, /abs/v.yaml] } }",
            file: "/etc/coxswain/coxswain.yaml", baseDirectory: "/etc/coxswain")
        #expect(configuration.databasePath == "/etc/coxswain/db/c.sqlite")
        #expect(configuration.commandsDirectory == "/etc/runbooks")
        #expect(configuration.releases["r"]?.valuesFiles == ["/etc/coxswain/values.yaml", "/abs/v.yaml"])
    }

    @Test func secretsComeFromTheEnvironmentOrFilesAndNeverPrint() throws {
        let secrets = try SlackSecrets.load(from: ["SLACK_SIGNING_SECRET": "s3cr3t", "SLACK_BOT_TOKEN": "xoxb-1"])
        #expect(!secrets.description.contains("s3cr3t"))
        for printed in ["\(secrets.signingSecret)", String(reflecting: secrets.botToken), "\(secrets)", String(describing: [secrets.botToken])] {
            #expect(!printed.contains("s3cr3t") && !printed.contains("xoxb-1"), "\(printed)")
        }
        #expect(throws: SlackSecrets.MissingSecret.self) { try SlackSecrets.load(from: ["SLACK_BOT_TOKEN": "x"]) }
    }

    @Test("Socket Mode needs the app-level token and no signing secret; a bot token in its place is named as the mistake")
    func socketModeSecrets() throws {
        let secrets = try SlackSecrets.load(from: ["SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1-A"], mode: .socket)
        #expect(secrets.appToken?.reveal() == "xapp-1-A" && secrets.signingSecret.isEmpty)
        #expect(!"\(secrets)".contains("xapp-1-A"))
        #expect(throws: SlackSecrets.MissingSecret.self) { try SlackSecrets.load(from: ["SLACK_BOT_TOKEN": "xoxb-1"], mode: .socket) }
        do {
            _ = try SlackSecrets.load(from: ["SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-1"], mode: .socket)
            Issue.record("a bot token was taken for the app token")
        } catch {
            #expect("\(error)".contains("starts with xapp-") && !"\(error)".contains("xoxb-1\""), "\(error)")
        }
        let mode = try ConfigurationLoader.parse(
            yaml: "slack: { mode: socket }\nenvironments: { production: { namespace: production, approvals: 0 } }\nreleases: {}", file: "c.yaml"
        ).slack.mode
        #expect(mode == .socket)
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(
                yaml: "slack: { mode: sockets }\nenvironments: { production: { namespace: production, approvals: 0 } }\nreleases: {}", file: "c.yaml")
        }
    }

    @Test("the watch: top-level defaults, an environment's overrides, a release's queries; mistakes named")
    func watchConfiguration() throws {
        let base =
            "environments: { production: { namespace: production, approvals: 0, watch: { auto_rollback: true, error_rate: 2% } } }\n"
            + "releases: { r: { model: m, environment: production, endpoint: 'http://x', watch_queries: { p95: 'max(x{model=\"{model}\"})' } } }\n"
        let configuration = try ConfigurationLoader.parse(
            yaml: base + "prometheus: { url: 'http://prom:9090', token_file: token }\nwatch: { duration: 20m, error_for: 1m }", file: "/etc/c.yaml",
            baseDirectory: "/etc")
        let release = try #require(configuration.release(named: "r"))
        let policy = configuration.watchPolicy(release: release)
        #expect(policy.duration == GoDuration(seconds: 1200) && policy.errorFor == GoDuration(seconds: 60) && policy.errorRate == 0.02)
        #expect(policy.autoRollback && policy.queries.p95 == #"max(x{model="{model}"})"# && policy.queries.errors == WatchQueries.defaultErrors)
        #expect(configuration.prometheus?.tokenFile == "/etc/token" && configuration.prometheus?.url.absoluteString == "http://prom:9090")
        func problem(_ yaml: String) -> String? {
            do { _ = try ConfigurationLoader.parse(yaml: yaml, file: "c.yaml"); return nil } catch { return "\(error)" }
        }
        let env = "environments: { production: { namespace: production, approvals: 0 } }\nreleases: {}\n"
        #expect(problem(env + "watch: { error_rate: 0.05 }")?.contains("must be a percentage between 0% and 100% such as 5%") == true)
        #expect(problem(env + "watch: { queries: { errors: 'sum(x{job=\"{relase}\"})' } }")?.contains("{relase} is not a placeholder") == true)
        #expect(problem(env + "watch: { duraton: 5m }")?.contains("did you mean `duration`") == true)
        #expect(problem(env + "prometheus: { url: prom }")?.contains("prometheus.url") == true)
        #expect(problem(env + "watch: { latency_factor: 1 }")?.contains("must be more than 1") == true)
    }

    @Test("the serving criteria: off by default, on at the top, off again or changed per environment; mistakes named")
    func servingCriteria() throws {
        let yaml = """
            watch: { time_to_first_token_factor: 2, kv_cache_usage_over: 95%, kv_cache_usage_for: 2m, queries: { requests_waiting: 'sum(q{model="{model}"})' } }
            environments:
              production: { namespace: production, approvals: 0, watch: { kv_cache_usage_over: 'off', requests_waiting_over: 20, time_to_first_token_for: 3m } }
              staging: { namespace: staging, approvals: 0 }
            releases: {}
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "c.yaml")
        let production = try #require(configuration.environments["production"]?.watch)
        #expect(
            production.serving == [
                ServingCriterion(.timeToFirstToken, limit: 2, holdFor: GoDuration(seconds: 180)), ServingCriterion(.requestsWaiting, limit: 20),
            ])
        #expect(production.queries.serving[.requestsWaiting] == [#"sum(q{model="{model}"})"#])
        #expect(production.queries.serving[.kvCacheUsage] == ServingSignal.kvCacheUsage.defaultQueries)
        let staging = try #require(configuration.environments["staging"]?.watch)
        #expect(
            staging.serving == [ServingCriterion(.timeToFirstToken, limit: 2), ServingCriterion(.kvCacheUsage, limit: 0.95, holdFor: GoDuration(seconds: 120))])
        #expect(try ConfigurationLoader.parse(yaml: "environments: { p: { namespace: p, approvals: 0 } }\nreleases: {}", file: "c.yaml")
            .environments["p"]?.watch.serving.isEmpty == true)
        func problem(_ watch: String) -> String? {
            let env = "environments: { production: { namespace: production, approvals: 0 } }\nreleases: {}\n"
            do { _ = try ConfigurationLoader.parse(yaml: env + "watch: { \(watch) }", file: "c.yaml"); return nil } catch { return "\(error)" }
        }
        #expect(problem("time_to_first_token_factor: 0.5")?.contains("must be more than 1 (2 means twice the P95 before the change) or off") == true)
        #expect(problem("kv_cache_usage_over: 0.95")?.contains("watch.kv_cache_usage_over: must be a percentage between 0% and 100% such as 95%") == true)
        #expect(problem("requests_waiting_over: many")?.contains("must be a number of waiting requests such as 20") == true)
        #expect(problem("inter_token_latency_for: 5m")?.contains("set watch.inter_token_latency_factor too (it is off unless set)") == true)
        #expect(problem("requests_waiting_over: 5, requests_waiting_for: 20m")?.contains("watch.requests_waiting_for: must be shorter than duration") == true)
        #expect(problem("kv_cache_usage_ovr: 95%")?.contains("did you mean `kv_cache_usage_over`") == true)
        #expect(problem("queries: { kv_cache_usage: 'max(x{pod=\"{pod}\"})' }")?.contains("{pod} is not a placeholder") == true)
    }

    @Test func theRollbackRunbookLoads() throws {
        let runbook = try RunbookLoader.parse(yaml: try RepositoryFiles.text("commands/rollback.yaml"), file: "commands/rollback.yaml")
        #expect(
            runbook.steps.map(\.action) == [
                .helmHistory, .capacityCheck, .gitopsCheck, .confirm, .registryDisable, .helmRollback, .podsWait,
                .probeHealth, .probeModels, .probeCompletion, .registryEnable, .verify,
            ])
        #expect(runbook.step(.helmRollback)?.timeout?.description == "10m0s")
        #expect(runbook.step(.podsWait)?.timeout?.kubectlForm == "300s")
        #expect(runbook.step(.probeCompletion)?.slo?.milliseconds == 3000)
    }

    @Test func aBadRunbookNamesTheStepAndTheProblem() {
        func problem(_ steps: String) -> String? {
            let yaml = "command: /rollback\ndescription: d\nusage: u\nsteps:\n" + steps
            do { _ = try RunbookLoader.parse(yaml: yaml, file: "rollback.yaml"); return nil } catch { return (error as? RunbookError)?.description }
        }
        #expect(problem("  - action: helm.history\n  - action: helm.rolback\n")?.contains("rollback.yaml: step 2: unknown action `helm.rolback`") == true)
        #expect(
            problem("  - action: helm.history\n  - action: helm.rollback\n    timout: 5m\n")?.contains("step 2 (helm.rollback): unknown setting `timout`")
                == true)
        #expect(problem("  - action: helm.history\n  - action: helm.rollback\n")?.contains("`timeout` is required") == true)
        #expect(problem("  - action: confirm\n  - action: helm.history\n")?.contains("first step must be helm.history") == true)
        #expect(
            problem("  - action: helm.history\n  - action: confirm\n  - action: helm.rollback\n    timeout: 1m\n  - action: registry.disable\n")?.contains(
                "registry.disable must come before helm.rollback") == true)
        #expect(
            problem("  - action: helm.history\n  - action: confirm\n  - action: registry.disable\n  - action: registry.enable\n  - action: probe.health\n")?
                .contains("registry.enable must come after probe.health") == true)
        // Without confirm, or with a change before it, the approval gate would be skipped.
        #expect(problem("  - action: helm.history\n  - action: helm.rollback\n    timeout: 1m\n")?.contains("confirm must come before helm.rollback") == true)
        #expect(
            problem("  - action: helm.history\n  - action: registry.disable\n  - action: confirm\n")?.contains("confirm must come before registry.disable")
                == true)
        // The approver must see the capacity verdict: after the plan, before confirm.
        let late = problem("  - action: helm.history\n  - action: confirm\n  - action: gitops.check\n")
        #expect(late?.contains("gitops.check must come after helm.history and before confirm") == true, "\(late ?? "accepted")")
    }

    @Test("capacity: stop unless an environment says proceed or neutral; GPU resources beyond NVIDIA's; mistakes named")
    func capacityConfiguration() throws {
        let yaml = """
            cluster: { gpu_resources: [nvidia.com/gpu, amd.com/gpu] }
            environments:
              production: { namespace: production, approvals: 0, capacity: { when_short: neutral } }
              staging: { namespace: staging }
            releases: {}
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "c.yaml")
        #expect(configuration.environments["production"]?.capacityWhenShort == .neutral)
        #expect(configuration.environments["staging"]?.capacityWhenShort == .stop)
        #expect(configuration.cluster.gpuResources == ["nvidia.com/gpu", "amd.com/gpu"])
        let plain = try ConfigurationLoader.parse(yaml: "environments: { p: { namespace: p } }\nreleases: {}", file: "c.yaml")
        #expect(plain.cluster.gpuResources == ["nvidia.com/gpu"])
        func problem(_ yaml: String) -> String? {
            do { _ = try ConfigurationLoader.parse(yaml: yaml + "\nreleases: {}", file: "c.yaml"); return nil } catch { return "\(error)" }
        }
        #expect(
            problem("environments: { p: { namespace: p, capacity: { when_short: wait } } }")?
                .contains("environments.p.capacity.when_short: must be stop (change nothing and say so), proceed") == true)
        #expect(problem("cluster: { gpu_resources: [gpu] }\nenvironments: { p: { namespace: p } }")?.contains("such as nvidia.com/gpu") == true)
        #expect(problem("environments: { p: { namespace: p, capacity: { when_shrot: stop } } }")?.contains("did you mean `when_short`") == true)
    }
}

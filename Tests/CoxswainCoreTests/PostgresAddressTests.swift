import CoxswainCore
import Foundation
import Testing

/// `database: postgres://…`: what is accepted, and what each mistake is told.
@Suite struct PostgresAddressTests {
    static let base = """
        environments: { production: { namespace: production, approvals: 0 } }
        releases: { r: { model: m, environment: production, endpoint: 'http://x:8000' } }

        """

    @Test("a postgres:// URL selects PostgreSQL, verify-full unless sslmode says otherwise; a path stays SQLite")
    func accepted() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.base + "database: postgres://coxswain@db.internal/coxswain", file: "c.yaml")
        #expect(configuration.postgres == PostgresAddress(user: "coxswain", host: "db.internal", port: 5432, database: "coxswain", sslMode: .verifyFull))
        #expect(configuration.databaseDescription == "postgres://coxswain@db.internal:5432/coxswain")
        let local = try PostgresAddress.parse("postgresql://app@127.0.0.1:6543/ops?sslmode=disable").get()
        #expect(local.port == 6543 && local.sslMode == .disable && local.database == "ops")
        let pinned = try PostgresAddress.parse("postgres://app@db/ops?sslmode=verify-full&sslrootcert=/etc/coxswain/ca.pem").get()
        #expect(pinned.rootCertificate == "/etc/coxswain/ca.pem")
        let file = try ConfigurationLoader.parse(yaml: Self.base + "database: /var/lib/coxswain/coxswain.sqlite", file: "c.yaml")
        #expect(file.postgres == nil && file.databasePath == "/var/lib/coxswain/coxswain.sqlite")
    }

    @Test(
        "mistakes are refused with what is wrong, what is accepted and an example; a password is never repeated",
        arguments: [
            ("postgres://coxswain:hunter2@db/coxswain", "must not contain a password; set COXSWAIN_DATABASE_PASSWORD"),
            ("postgres://db/coxswain", "names no user"),
            ("postgres://coxswain@db", "names no database"),
            ("postgres://coxswain@db/a/b", "names no database"),
            ("postgres://coxswain@db/coxswain?sslmode=prefer", "has sslmode=prefer; accepted: disable, require, verify-full"),
            ("postgres://coxswain@db/coxswain?pool=3", "has the parameter pool, which Coxswain does not use"),
            ("postgres://coxswain@db/coxswain?sslmode=disable&sslrootcert=/ca.pem", "has sslrootcert with sslmode=disable"),
        ])
    func refused(text: String, problem: String) {
        do {
            _ = try ConfigurationLoader.parse(yaml: Self.base + "database: \"\(text)\"", file: "c.yaml")
            Issue.record("accepted \(text)")
        } catch {
            let message = "\(error)"
            #expect(message.contains("database") && message.contains(problem) && message.contains("Example: postgres://"), "\(message)")
            #expect(!message.contains("hunter2"))
        }
    }
}

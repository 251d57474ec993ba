@testable import CoxswainStore
import Foundation
import GRDB
import Testing

/// The store writes and reads dates without GRDB's DateFormatter (which maps ICU into the server): the text
/// must be exactly what GRDB wrote before, so old rows, SQL comparisons and ordering stay as they were.
@Suite struct StoredDateTests {
    /// Seconds since 1970 from 2001 to 2200, with sub-millisecond parts.
    static func randomDates(_ count: Int, seed: UInt64) -> [Date] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Date(timeIntervalSince1970: Double.random(in: 978_307_200...7_258_118_400, using: &generator)) }
    }

    @Test("the text is GRDB's own for 20,000 dates, and reads back to the same text")
    func sameTextAsGRDB() throws {
        for date in Self.randomDates(20_000, seed: 13) {
            let grdb = String.fromDatabaseValue(date.databaseValue)
            let text = StoredDate.text(date)
            #expect(text == grdb, "\(date.timeIntervalSince1970)")
            let read = try #require(StoredDate.date(text))
            #expect(StoredDate.text(read) == text)
            #expect(abs(read.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.001)
            // GRDB reads what StoredDate writes as the same instant (to the microsecond).
            let grdbRead = try #require(Date.fromDatabaseValue(text.databaseValue))
            #expect(abs(grdbRead.timeIntervalSince1970 - read.timeIntervalSince1970) < 0.000_001, "\(text)")
        }
    }

    @Test("the shorter forms SQLite and GRDB accept read as GRDB reads them; anything else is not a date")
    func otherForms() throws {
        for text in ["2026-11-24", "2026-11-24 10:20", "2026-11-24T10:20", "2026-11-24 10:20:30", "2024-02-29 23:59:59.5", "2026-11-24 10:20:30.123456"] {
            let mine = try #require(StoredDate.fromDatabaseValue(text.databaseValue)?.date, "\(text)")
            let grdb = try #require(Date.fromDatabaseValue(text.databaseValue), "\(text)")
            #expect(abs(mine.timeIntervalSince1970 - grdb.timeIntervalSince1970) < 0.000_001, "\(text)")
        }
        for text in ["", "2026-13-01", "2026-11-32", "2026-11-24 24:00", "2026-11-24 10:20:", "2026-11-24 10:20:30.", "2026/11/24", "x"] {
            #expect(StoredDate.date(text) == nil, "\(text)")
        }
        #expect(StoredDate.fromDatabaseValue(1_700_000_000.databaseValue)?.date == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(StoredDate.fromDatabaseValue(.null) == nil)
    }

    @Test("records and bound arguments go through it: a row written and read back keeps its text")
    func recordsUseIt() async throws {
        let database = try AppDatabase.inMemory()
        let moment = Date(timeIntervalSince1970: 1_790_000_000.123_4)
        try await database.seed([], now: moment)
        try await database.saveToken(user: "U1", digest: "d", now: moment)
        let texts = try await database.writer.read { db in
            try String.fetchAll(db, sql: "SELECT createdAt FROM consoleToken UNION ALL SELECT at FROM auditEntry")
        }
        #expect(!texts.isEmpty && texts.allSatisfy { $0 == "2026-09-21 14:13:20.123" }, "\(texts)")
    }
}

/// SplitMix64: the same dates on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_89B4_12F4_E9BA
        return z ^ (z >> 31)
    }
}

@testable import CoxswainStore
import Foundation
import GRDB
import Testing

/// The store writes and reads dates without GRDB's DateFormatter (which maps ICU into the server): the text
/// must be exactly what GRDB wrote before, so old rows, SQL comparisons and ordering stay as they were.
@Suite struct StoredDateTests {
    /// 2001 to 2200, spread by the golden-ratio (Weyl) sequence: every run the same dates, with sub-millisecond parts.
    static func spreadDates(_ count: Int) -> [Date] {
        let start = 978_307_200.0, span = 7_258_118_400.0 - 978_307_200.0
        return (1...count).map { i in Date(timeIntervalSince1970: start + (Double(i) * 0.618_033_988_749_894_9).truncatingRemainder(dividingBy: 1) * span) }
    }

    @Test("the text is GRDB's own for 20,000 dates, and reads back to the same text")
    func sameTextAsGRDB() throws {
        for date in Self.spreadDates(20_000) {
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
        _ = try await database.saveToken(user: "U1", digest: "d", expiresAt: moment.addingTimeInterval(60), issuedBy: "test", now: moment)
        let texts = try await database.writer.read { db in
            try String.fetchAll(db, sql: "SELECT createdAt FROM consoleToken UNION ALL SELECT at FROM auditEntry")
        }
        #expect(!texts.isEmpty && texts.allSatisfy { $0 == "2026-09-21 14:13:20.123" }, "\(texts)")
    }
}

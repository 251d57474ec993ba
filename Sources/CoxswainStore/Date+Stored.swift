import Foundation
import GRDB

extension Date {
    /// This date as the store gives it back (to the millisecond), for values returned
    /// without reading them back.
    var asStored: Date { Date.fromDatabaseValue(databaseValue) ?? self }
}

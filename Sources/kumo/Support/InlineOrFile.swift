import Foundation

/// A flag value given inline or as `@FILE` (`@-` reads standard input), as the AWS CLI takes them.
func inlineOrFile(_ value: String, flag: String) throws -> String {
    guard value.hasPrefix("@") else { return value }
    let path = String(value.dropFirst())
    if path == "-" { return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) }
    guard let data = FileManager.default.contents(atPath: path) else { throw fail("\(flag) @\(path): cannot read the file") }
    return String(decoding: data, as: UTF8.self)
}

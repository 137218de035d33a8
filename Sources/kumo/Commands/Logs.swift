import ArgumentParser
import Foundation

extension Kumo {
    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the output of a function or service (or all), tagged with request ids or replicas.")

        @Argument(help: "A function or service name, or an address (default: everything).")
        var name: String?

        @Flag(name: .shortAndLong, help: "Keep printing new lines as they come.")
        var follow = false

        @OptionGroup var location: RuntimeLocation

        func run() async throws {
            let directory = location.absolute + "/.kumo/logs"
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory))?.filter { $0.hasSuffix(".log") }.sorted() ?? []
            let wanted: [String]
            if let name {
                let candidates = name.contains(".") ? [name] : ["function.\(name)", "service.\(name)"]
                wanted = candidates.map { $0 + ".log" }.filter { files.contains($0) }
                if wanted.isEmpty && !follow {
                    throw fail("no logs for '\(name)' in \(directory)" + (files.isEmpty ? "" : " (have: \(files.map { String($0.dropLast(4)) }.joined(separator: ", ")))"))
                }
            } else {
                wanted = files
            }
            let prefix = wanted.count > 1 || name == nil
            var offsets: [String: UInt64] = [:]
            func drain(_ file: String) {
                guard let handle = FileHandle(forReadingAtPath: directory + "/" + file) else { return }
                defer { try? handle.close() }
                try? handle.seek(toOffset: offsets[file] ?? 0)
                let data = handle.readDataToEndOfFile()
                guard let last = data.lastIndex(of: 0x0A) else { return }
                let complete = data[data.startIndex...last]
                offsets[file, default: 0] += UInt64(complete.count)
                let label = String(file.dropLast(4))
                for line in String(decoding: complete, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
                    Console.out(prefix ? "\(label) | \(line)\n" : "\(line)\n")
                }
            }
            for file in wanted { drain(file) }
            guard follow else { return }
            while true {
                try await Task.sleep(for: .milliseconds(200))
                let current = (try? FileManager.default.contentsOfDirectory(atPath: directory))?.filter { $0.hasSuffix(".log") } ?? []
                let targets = name == nil ? current.sorted() : (name!.contains(".") ? [name! + ".log"] : ["function.\(name!).log", "service.\(name!).log"]).filter { current.contains($0) }
                for file in targets { drain(file) }
            }
        }
    }
}

import ArgumentParser
import AsyncHTTPClient
import Foundation
import KumoManifest
import KumoPlan
import KumoApply
import KumoRuntime
import KumoState
import NIOCore

extension Kumo {
    struct Invoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invoke a function through the runtime's Lambda Invoke API and print its result.",
            discussion: "Exit status 1 when the function fails (its error document goes to standard error).")

        @Argument(help: "The function name.")
        var name: String

        @Option(help: ArgumentHelp("The event: JSON, or @FILE to read it from a file (default {}).", valueName: "JSON|@FILE"))
        var data: String = "{}"

        @Option(help: "RequestResponse (wait for the result), Event (asynchronous) or DryRun.")
        var type = "RequestResponse"

        @OptionGroup var location: RuntimeLocation

        func run() async throws {
            var payload = data
            if data.hasPrefix("@") {
                do { payload = try String(contentsOfFile: String(data.dropFirst()), encoding: .utf8) } catch {
                    throw fail("cannot read \(data.dropFirst()): \(error.localizedDescription)")
                }
            }
            guard (try? ConfigValue(json: payload)) != nil else { throw fail("--data is not valid JSON") }
            guard let info = RuntimeInfo.load(projectDirectory: location.absolute) else {
                throw fail(RuntimeInfo.notRunning(projectDirectory: location.absolute))
            }
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(info.gatewayPort)/2015-03-31/functions/\(name)/invocations")
            request.method = .POST
            request.headers.add(name: "X-Amz-Invocation-Type", value: type)
            request.body = .bytes(ByteBuffer(string: payload))
            let response: HTTPClientResponse
            do { response = try await HTTPClient.shared.execute(request, timeout: .seconds(960)) } catch {
                throw fail("the runtime's gateway did not answer: \(error)")
            }
            let body = String(buffer: try await response.body.collect(upTo: 64 * 1024 * 1024))
            switch response.status.code {
            case 200 where response.headers.first(name: "X-Amz-Function-Error") != nil:
                Console.err(body + "\n")
                throw ExitCode.failure
            case 200:
                Console.out(body + "\n")
            case 202:
                Console.out("Queued (request id \(response.headers.first(name: "x-amzn-RequestId") ?? "?")).\n")
            case 204:
                Console.out("Dry run: the function exists and the request is valid.\n")
            default:
                let message = (try? ConfigValue(json: body))?["message"]?.stringValue ?? body
                throw fail("\(response.headers.first(name: "x-amzn-ErrorType") ?? "HTTP \(response.status.code)"): \(message)")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each resource: its state, warm and busy workers or replicas, and its last error.")

        @OptionGroup var location: RuntimeLocation
        @OptionGroup var stateOptions: StateOptions

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let directory = location.absolute
            let state = (try? StateStore.open(path: stateOptions.path(projectDirectory: directory), create: false)?.snapshot()) ?? .empty
            var live: [String: ControlAPI.Status.Resource] = [:]
            var runtimeValue: ConfigValue = .null
            if let info = RuntimeInfo.load(projectDirectory: directory) {
                let status = try await RuntimeClient(info: info).status()
                runtimeValue = (try? ConfigValue(json: String(decoding: ControlAPI.encode(status.runtime), as: UTF8.self))) ?? .null
                for item in status.resources { live[item.address] = item }
            }
            let addresses = Set(state.resources.keys).union(live.keys).sorted()
            var rows: [ConfigValue] = []
            for address in addresses {
                let record = state.resources[address]
                let item = live[address]
                let runtimeState = item?.state ?? (runtimeValue == .null ? "runtime not running" : "not running")
                var drift: String?
                if let record, let item, item.specHash != record.specHash { drift = "runs another spec than the state records" }
                if record == nil { drift = "not in the state" }
                rows.append(.object([
                    ("address", .string(address)), ("state", .string(record?.status == .tainted ? "tainted" : runtimeState)),
                    ("applied_serial", record.map { .int($0.appliedSerial) } ?? .null), ("drift", drift.map { .string($0) } ?? .null),
                    ("detail", item?.detail ?? .object([])),
                ]))
            }
            if json {
                Console.out(ConfigValue.object([("runtime", runtimeValue), ("resources", .array(rows))]).json() + "\n")
                return
            }
            if runtimeValue == .null { Console.out("No runtime is running for \(directory) ('kumo runtime start' or 'kumo up').\n") }
            var table = [["RESOURCE", "STATE", "WORKERS", "DETAIL"]]
            for row in rows {
                let detail = row["detail"] ?? .object([])
                var workers = ""
                if let warm = detail["warm"]?.intValue { workers = "\(warm) warm, \(detail["busy"]?.intValue ?? 0) busy" }
                if let ready = detail["replicas_ready"]?.intValue { workers = "\(ready)/\(detail["replicas"]?.intValue ?? 0) ready" }
                var notes: [String] = []
                if let invocations = detail["invocations"]?.intValue, invocations > 0 { notes.append("\(invocations) calls, \(detail["errors"]?.intValue ?? 0) errors") }
                if let requests = detail["requests"]?.intValue, requests > 0 { notes.append("\(requests) request\(requests == 1 ? "" : "s"), \(detail["failed_requests"]?.intValue ?? 0) failed") }
                if let cpu = detail["cpu"]?.doubleValue {
                    let enforced = detail["cpu_limit"]?.stringValue?.hasPrefix("enforced") ?? false
                    notes.append("cpu \(cpu == cpu.rounded() ? String(Int(cpu)) : String(cpu))\(enforced ? " (limited)" : " (not enforced)")")
                }
                let restarts = detail["replica_detail"]?.arrayValue?.compactMap { $0["restarts"]?.intValue }.reduce(0, +) ?? 0
                if restarts > 0 { notes.append("\(restarts) restart\(restarts == 1 ? "" : "s")") }
                for replica in detail["replica_detail"]?.arrayValue ?? [] where replica["state"]?.stringValue != "ready" {
                    let exit = replica["last_exit"]?.stringValue.map { ", last exit: \($0)" } ?? ""
                    let stderr = replica["recent_stderr"]?.arrayValue?.last?.stringValue.map { ", stderr: \($0)" } ?? ""
                    notes.append("replica \(replica["replica"]?.intValue ?? 0) \(replica["state"]?.stringValue ?? "")\(exit)\(stderr)")
                }
                if let error = detail["last_error"]?.stringValue { notes.append("last error: \(error)") }
                if let drift = row["drift"]?.stringValue { notes.append(drift) }
                table.append([row["address"]?.stringValue ?? "", row["state"]?.stringValue ?? "", workers, notes.joined(separator: "; ")])
            }
            let widths = (0..<3).map { column in table.map { $0[column].count }.max() ?? 0 }
            for line in table {
                Console.out((0..<3).map { line[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "  " + line[3] + "\n")
            }
        }
    }

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

    struct Calibrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fit T, S and E from the timings of past applies; later plans use the fit.",
            discussion: """
                For every apply, wave and kind the executor recorded how long the wave's actions of that
                kind took; a least-squares line time = init + each × ⌈count / parallelism⌉ is fitted per
                kind (needs waves of at least two different sizes) and saved in the state.
                """)

        @OptionGroup var location: RuntimeLocation
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var lockOptions: LockOptions

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let path = stateOptions.path(projectDirectory: location.absolute)
            guard let store = try StateStore.open(path: path, create: false) else { throw fail("there is no state at \(path); apply something first") }
            let samples: [ResourceKind: [Calibration.Sample]]
            do { samples = try store.calibrationSamples() } catch { throw fail(error.description) }
            var fits: [ResourceKind: Calibration.Fit] = [:]
            var report: [(String, ConfigValue)] = []
            var text = ""
            for (kind, label, symbol) in [(ResourceKind.function, "functions", "T(n)"), (.service, "services", "S(m)"), (.rule, "rules", "E(k)")] {
                let points = samples[kind] ?? []
                if let fit = Calibration.fit(points) {
                    fits[kind] = fit
                    text += String(format: "%@ %@ = %.0f ms + %.1f ms·n  (%d samples, RMS error %.1f ms)\n", label.padding(toLength: 9, withPad: " ", startingAt: 0), symbol, fit.initial * 1000, fit.each * 1000, fit.samples, fit.rmse * 1000)
                    report.append((label, .object([("init_ms", .double(fit.initial * 1000)), ("each_ms", .double(fit.each * 1000)), ("samples", .int(fit.samples)), ("rmse_ms", .double(fit.rmse * 1000))])))
                } else {
                    text += "\(label.padding(toLength: 9, withPad: " ", startingAt: 0)) not enough data (\(points.count) sample\(points.count == 1 ? "" : "s"); needs waves of two different sizes)\n"
                    report.append((label, .object([("samples", .int(points.count))])))
                }
            }
            if !fits.isEmpty {
                do {
                    try store.withLock(operation: "calibrate", timeout: try lockOptions.seconds) { lock in try store.saveCalibration(fits, under: lock) }
                } catch let error as CustomStringConvertible & Error { throw fail(error.description) }
            }
            Console.out(json ? ConfigValue.object(report).json() + "\n" : text + (fits.isEmpty ? "" : "Saved: later plans use these coefficients (source: calibrated).\n"))
        }
    }
}

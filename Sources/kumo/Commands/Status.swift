import ArgumentParser
import Foundation
import KumoManifest
import KumoPlan
import KumoApply
import KumoState

extension Kumo {
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
            if runtimeValue == .null { Console.out(RuntimeInfo.notRunning(projectDirectory: directory) + "\n") }
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
}

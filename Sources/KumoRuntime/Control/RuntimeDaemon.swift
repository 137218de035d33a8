import Foundation
import KumoPlan

/// The runtime as a background process of its own.
public enum RuntimeDaemon {
    /// Starts `EXECUTABLE runtime serve` for the project in its own session, output in
    /// `.kumo/runtime.log`, and waits until its runtime.json says it is up. `acceptEmptyStateFile`
    /// passes `--force` on (a 0-byte state file is an empty state); `arguments` are further flags of `serve`.
    public static func start(executable: String, directory: String, statePath: String, gatewayPort: Int, acceptEmptyStateFile: Bool = false,
                             arguments: [String] = []) throws -> RuntimeInfo {
        let kumoDir = directory + "/.kumo"
        try FileManager.default.createDirectory(atPath: kumoDir, withIntermediateDirectories: true)
        let pid = try ChildProcess.daemon(
            argv: [executable, "runtime", "serve", "-C", directory, "--state", statePath, "--gateway-port", String(gatewayPort)] + (acceptEmptyStateFile ? ["--force"] : []) + arguments,
            environment: ProcessInfo.processInfo.environment, directory: directory, logPath: kumoDir + "/runtime.log")
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let info = RuntimeInfo.load(projectDirectory: directory), info.pid == pid { return info }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                // Its last line says why (`error: …`, as kumo prints errors): one line here.
                let log = (try? String(contentsOfFile: kumoDir + "/runtime.log", encoding: .utf8)) ?? ""
                var reason = log.split(separator: "\n").last.map(String.init) ?? "no output"
                if reason.hasPrefix("error: ") { reason.removeFirst(7) }
                throw RuntimeError("the runtime exited at start: \(reason) (see \(kumoDir)/runtime.log)")
            }
            usleep(20_000)
        }
        throw RuntimeError("the runtime did not start within 30 s; see \(kumoDir)/runtime.log")
    }
}

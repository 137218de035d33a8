import Foundation
import KumoPlan

extension RuntimeClient {
    /// Asks the runtime to stop, and waits for its process to end (SIGTERM after 10 s, then
    /// SIGKILL after 30 s).
    public func stop() async throws {
        try? await shutdown()
        let deadline = Date().addingTimeInterval(30)
        while RuntimeInfo.isRunning(info.pid) && Date() < deadline {
            var status: Int32 = 0
            if waitpid(info.pid, &status, WNOHANG) == info.pid { break }
            try await Task.sleep(for: .milliseconds(50))
            if Date() > deadline.addingTimeInterval(-20) { kill(info.pid, SIGTERM) }
        }
        if RuntimeInfo.isRunning(info.pid) { kill(info.pid, SIGKILL) }
    }
}

import Foundation

/// Wakes one waiting loop early: `signal()` ends the current (or next) `wait`.
final class Wakeup: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    private var signalled = false
    private var generation = 0

    func signal() {
        lock.lock()
        if let continuation {
            self.continuation = nil
            lock.unlock()
            continuation.resume()
        } else {
            signalled = true
            lock.unlock()
        }
    }

    /// Returns at a signal or after `timeout`, whichever comes first.
    func wait(timeout: Duration) async {
        let mine: Int = lock.withLock {
            generation += 1
            return generation
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.expire(mine)
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if signalled {
                signalled = false
                lock.unlock()
                continuation.resume()
            } else {
                self.continuation = continuation
                lock.unlock()
            }
        }
        timer.cancel()
    }

    private func expire(_ generation: Int) {
        lock.lock()
        guard generation == self.generation else { return lock.unlock() }
        guard let continuation else {
            // The timer beat the waiter to the lock: the wait returns as soon as it starts.
            signalled = true
            return lock.unlock()
        }
        self.continuation = nil
        lock.unlock()
        continuation.resume()
    }
}

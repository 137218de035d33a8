import KumoPlan
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// A small HTTP server on loopback built on Hummingbird, for the control API, the gateway and
/// each worker's Runtime API: one handler function, no router, port chosen by the kernel
/// when 0.
final class HTTPServer: Sendable {
    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    let task: Task<Void, Never>
    let port: Int

    /// Starts listening and returns once the port is bound.
    static func start(host: String = "127.0.0.1", port: Int, label: String, handler: @escaping Handler) async throws -> HTTPServer {
        var logger = Logger(label: label)
        logger.logLevel = .critical
        let (stream, continuation) = AsyncStream<Result<Int, any Error>>.makeStream()
        let app = Application(
            responder: CallbackResponder(callback: handler),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                continuation.yield(.success(channel.localAddress?.port ?? 0))
            },
            logger: logger)
        let task = Task {
            do { try await app.run() } catch { continuation.yield(.failure(error)) }
            continuation.finish()
        }
        for await result in stream {
            switch result {
            case .success(let bound): return HTTPServer(task: task, port: bound)
            case .failure(let error): throw error
            }
        }
        throw CancellationError()
    }

    private init(task: Task<Void, Never>, port: Int) {
        self.task = task
        self.port = port
    }

    func stop() {
        task.cancel()
    }
}

extension Request {
    /// The body, up to `limit` bytes (6 MB, Lambda's payload limit, by default).
    func bytes(limit: Int = 6 * 1024 * 1024) async throws -> [UInt8] {
        let body = self.body
        let buffer = try await body.collect(upTo: limit)
        return Array(buffer.readableBytesView)
    }
}

extension Response {
    static func json(_ status: HTTPResponse.Status, _ bytes: [UInt8], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json(_ status: HTTPResponse.Status, _ text: String, headers: HTTPFields = [:]) -> Response {
        json(status, Array(text.utf8), headers: headers)
    }

    /// The control API's error answer: `{"error": message}`.
    static func error(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        json(status, ControlAPI.encode(ControlAPI.ErrorBody(error: message)), headers: headers)
    }
}

extension HTTPField.Name {
    static func named(_ name: String) -> HTTPField.Name { HTTPField.Name(name)! }
}

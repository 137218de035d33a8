import AsyncHTTPClient
import Foundation
import KumoManifest
import KumoPlan
import NIOCore

extension RuntimeClient {
    /// What a call through the gateway's Lambda Invoke API came back with.
    public enum Invocation: Sendable, Equatable {
        /// The function's result.
        case result(String)
        /// The function failed: its error document (`errorType`, `errorMessage`).
        case functionError(String)
        /// `Event`: queued, with the request id.
        case queued(requestID: String)
        /// `DryRun`: the function exists and the request is valid.
        case validated
        /// The API refused the call (unknown function, throttled, bad request).
        case refused(type: String, message: String)
    }

    public enum InvocationType: String, Sendable, CaseIterable {
        case requestResponse = "RequestResponse", event = "Event", dryRun = "DryRun"
    }

    /// Invokes a function the way `aws lambda invoke` does, through the runtime's gateway.
    public func invoke(_ function: String, payload: String, type: InvocationType = .requestResponse) async throws -> Invocation {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(info.gatewayPort)/2015-03-31/functions/\(function)/invocations")
        request.method = .POST
        request.headers.add(name: "X-Amz-Invocation-Type", value: type.rawValue)
        request.body = .bytes(ByteBuffer(string: payload))
        let response: HTTPClientResponse
        do { response = try await HTTPClient.shared.execute(request, timeout: .seconds(960)) } catch {
            throw Failure(description: "the runtime's gateway did not answer: \(error)")
        }
        let body = String(buffer: try await response.body.collect(upTo: 64 * 1024 * 1024))
        switch response.status.code {
        case 200 where response.headers.first(name: "X-Amz-Function-Error") != nil: return .functionError(body)
        case 200: return .result(body)
        case 202: return .queued(requestID: response.headers.first(name: "x-amzn-RequestId") ?? "?")
        case 204: return .validated
        default:
            let message = (try? ConfigValue(json: body))?["message"]?.stringValue ?? body
            return .refused(type: response.headers.first(name: "x-amzn-ErrorType") ?? "HTTP \(response.status.code)", message: message)
        }
    }
}

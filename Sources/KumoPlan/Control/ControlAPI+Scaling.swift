import Foundation

extension ControlAPI.Status {
    /// A scaling policy: what it scales, how often, and its last decision.
    public struct ScalingDetail: Sendable, Codable, Equatable {
        public struct LastDecision: Sendable, Codable, Equatable {
            public var at: String
            public var metric: String
            /// The metric summed over all replicas, averaged over the last interval.
            public var load: Double
            public var current: Int
            public var recommendation: Int
            public var replicas: Int
            public var reason: String
            public var reasonID: String

            public init(at: String, metric: String, load: Double, current: Int, recommendation: Int, replicas: Int, reason: String, reasonID: String) {
                self.at = at
                self.metric = metric
                self.load = load
                self.current = current
                self.recommendation = recommendation
                self.replicas = replicas
                self.reason = reason
                self.reasonID = reasonID
            }

            enum CodingKeys: String, CodingKey {
                case at, metric, load, current, recommendation, replicas, reason
                case reasonID = "reason_id"
            }
        }

        public var target: String
        public var interval: String
        public var lastDecision: LastDecision?
        public var lastError: String?

        public init(target: String, interval: String, lastDecision: LastDecision?, lastError: String? = nil) {
            self.target = target
            self.interval = interval
            self.lastDecision = lastDecision
            self.lastError = lastError
        }

        enum CodingKeys: String, CodingKey {
            case target, interval
            case lastDecision = "last_decision"
            case lastError = "last_error"
        }
    }
}

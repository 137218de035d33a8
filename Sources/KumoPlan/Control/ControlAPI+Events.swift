import Foundation

/// The control API's event-bus documents (`kumo events …`, `kumo status`).
extension ControlAPI {
    public enum Events {
        /// `POST /v1/events`: PutEvents entries, as `kumo events put` sends them.
        public struct PutRequest: Sendable, Codable, Equatable {
            public struct Entry: Sendable, Codable, Equatable {
                public var source: String?
                public var detailType: String?
                /// JSON text of an object.
                public var detail: String?
                public var resources: [String]?
                /// ISO-8601.
                public var time: String?

                public init(source: String?, detailType: String?, detail: String?, resources: [String]? = nil, time: String? = nil) {
                    self.source = source
                    self.detailType = detailType
                    self.detail = detail
                    self.resources = resources
                    self.time = time
                }

                enum CodingKeys: String, CodingKey {
                    case source, detail, resources, time
                    case detailType = "detail_type"
                }
            }

            public var entries: [Entry]
            public init(entries: [Entry]) { self.entries = entries }
        }

        public struct PutResponse: Sendable, Codable, Equatable {
            public struct Entry: Sendable, Codable, Equatable {
                public var eventID: String?
                public var errorCode: String?
                public var errorMessage: String?

                public init(eventID: String?, errorCode: String?, errorMessage: String?) {
                    self.eventID = eventID
                    self.errorCode = errorCode
                    self.errorMessage = errorMessage
                }

                enum CodingKeys: String, CodingKey {
                    case eventID = "event_id"
                    case errorCode = "error_code"
                    case errorMessage = "error_message"
                }
            }

            public var failedEntryCount: Int
            public var entries: [Entry]

            public init(failedEntryCount: Int, entries: [Entry]) {
                self.failedEntryCount = failedEntryCount
                self.entries = entries
            }

            enum CodingKeys: String, CodingKey {
                case entries
                case failedEntryCount = "failed_entry_count"
            }
        }

        /// One delivery of an event to one rule target.
        public struct Delivery: Sendable, Codable, Equatable {
            public var id: Int64
            public var eventID: String
            /// `rule.NAME`, or `function.NAME#i` for a function's schedule trigger.
            public var rule: String
            public var target: String
            public var path: String?
            /// `pending`, `retrying`, `delivered`, `dead-lettered` or `dropped`.
            public var status: String
            public var attempts: Int
            public var createdAt: String
            public var lastAttemptAt: String?
            public var nextAttemptAt: String?
            public var errorCode: String?
            public var errorMessage: String?
            /// The body the target receives (dead letters only).
            public var input: String?

            public init(id: Int64, eventID: String, rule: String, target: String, path: String?, status: String, attempts: Int, createdAt: String,
                        lastAttemptAt: String?, nextAttemptAt: String?, errorCode: String?, errorMessage: String?, input: String?) {
                self.id = id
                self.eventID = eventID
                self.rule = rule
                self.target = target
                self.path = path
                self.status = status
                self.attempts = attempts
                self.createdAt = createdAt
                self.lastAttemptAt = lastAttemptAt
                self.nextAttemptAt = nextAttemptAt
                self.errorCode = errorCode
                self.errorMessage = errorMessage
                self.input = input
            }

            enum CodingKeys: String, CodingKey {
                case id, rule, target, path, status, attempts, input
                case eventID = "event_id"
                case createdAt = "created_at"
                case lastAttemptAt = "last_attempt_at"
                case nextAttemptAt = "next_attempt_at"
                case errorCode = "error_code"
                case errorMessage = "error_message"
            }
        }

        /// `GET /v1/events`: recent events, newest first.
        public struct Event: Sendable, Codable, Equatable {
            public var id: String
            public var receivedAt: String
            /// `put`, `schedule` or `replay`.
            public var origin: String
            public var source: String
            public var detailType: String
            public var matched: [String]
            public var deliveries: [Delivery]
            /// The event as JSON text.
            public var event: String

            public init(id: String, receivedAt: String, origin: String, source: String, detailType: String, matched: [String], deliveries: [Delivery], event: String) {
                self.id = id
                self.receivedAt = receivedAt
                self.origin = origin
                self.source = source
                self.detailType = detailType
                self.matched = matched
                self.deliveries = deliveries
                self.event = event
            }

            enum CodingKeys: String, CodingKey {
                case id, origin, source, matched, deliveries, event
                case receivedAt = "received_at"
                case detailType = "detail_type"
            }
        }

        public struct List: Sendable, Codable, Equatable {
            public var events: [Event]
            public init(events: [Event]) { self.events = events }
        }

        /// `GET /v1/events/dlq`.
        public struct DeadLetters: Sendable, Codable, Equatable {
            public var deliveries: [Delivery]
            public init(deliveries: [Delivery]) { self.deliveries = deliveries }
        }

        /// `POST /v1/events/redrive`, `/replay`, `/fire`: what to act on.
        public struct Action: Sendable, Codable, Equatable {
            public var rule: String?
            public var from: String?
            public var to: String?

            public init(rule: String? = nil, from: String? = nil, to: String? = nil) {
                self.rule = rule
                self.from = from
                self.to = to
            }
        }

        public struct ActionResult: Sendable, Codable, Equatable {
            /// Dead letters put back in line (redrive), events sent again (replay) or fired (fire).
            public var events: Int
            public var deliveries: Int
            public var eventIDs: [String]
            public var replayName: String?

            public init(events: Int, deliveries: Int, eventIDs: [String] = [], replayName: String? = nil) {
                self.events = events
                self.deliveries = deliveries
                self.eventIDs = eventIDs
                self.replayName = replayName
            }

            enum CodingKeys: String, CodingKey {
                case events, deliveries
                case eventIDs = "event_ids"
                case replayName = "replay_name"
            }
        }
    }
}

extension ControlAPI.Status {
    /// A rule's deliveries by status, and its schedule.
    public struct RuleDetail: Sendable, Codable, Equatable {
        public var enabled: Bool
        /// Events the rule matched (or its schedule fired).
        public var matched: Int
        public var delivered: Int
        public var pending: Int
        public var retrying: Int
        public var deadLettered: Int
        public var dropped: Int
        public var schedule: String?
        public var nextFire: String?
        public var lastError: String?

        public init(enabled: Bool, matched: Int, delivered: Int, pending: Int, retrying: Int, deadLettered: Int, dropped: Int,
                    schedule: String?, nextFire: String?, lastError: String?) {
            self.enabled = enabled
            self.matched = matched
            self.delivered = delivered
            self.pending = pending
            self.retrying = retrying
            self.deadLettered = deadLettered
            self.dropped = dropped
            self.schedule = schedule
            self.nextFire = nextFire
            self.lastError = lastError
        }

        enum CodingKeys: String, CodingKey {
            case enabled, matched, delivered, pending, retrying, dropped, schedule
            case deadLettered = "dead_lettered"
            case nextFire = "next_fire"
            case lastError = "last_error"
        }
    }
}

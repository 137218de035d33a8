import Testing

/// The suites that start a runtime, nested here so that they run one test at a time: each
/// runtime starts Python workers and replicas, and the machine may have two cores.
@Suite(.serialized) enum RuntimeSuites {}

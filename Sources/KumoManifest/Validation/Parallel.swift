/// Splits work over the machine's cores, for the layers above the manifest (planning).
public enum Parallel {
    /// Runs `work` over `0..<count` in one range per core (one range below `minimum`) and
    /// returns the results in range order.
    public static func ranges<Result: Sendable>(_ count: Int, minimum: Int, _ work: @Sendable (Range<Int>) -> Result) -> [Result] {
        ProjectAssembler.inParallel(count, minimum: minimum, work)
    }
}

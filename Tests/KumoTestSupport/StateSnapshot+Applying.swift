import KumoPlan

/// For tests: the executor writes a record per action as it goes; this is the same result at once.
extension StateSnapshot {
    /// The state after every action of `plan` succeeded: what the executor writes, action by
    /// action, and what the planner must then see as no change.
    public func applying(_ plan: Plan, resources: [DesiredResource], secrets: [String: String], lineage newLineage: @autoclosure () -> String) -> StateSnapshot {
        var next = self
        next.lineage = lineage ?? newLineage()
        next.serial = serial + 1
        var byAddress: [String: DesiredResource] = [:]
        for resource in resources { byAddress[resource.address] = resource }
        for change in plan.changes {
            switch change.action {
            case .noop:
                continue
            case .delete:
                next.resources[change.address] = nil
            case .create, .update, .replace:
                guard let resource = byAddress[change.address] else { continue }
                next.resources[change.address] = ResourceRecord(
                    desired: resource, secrets: secrets, previous: self.resources[change.address], serial: next.serial)
            }
        }
        return next
    }
}

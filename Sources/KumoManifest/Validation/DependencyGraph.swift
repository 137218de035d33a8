/// The resource dependency graph, for cycle detection with canonical reporting.
struct DependencyGraph {
    struct Edge {
        var to: String
        var node: NodeRef?
        var path: KeyPath?
    }

    struct Cycle {
        var addresses: [String]
        var node: NodeRef?
        var path: KeyPath?
    }

    private(set) var edges: [String: [Edge]] = [:]
    private var declarations: [String: NodeRef] = [:]

    mutating func declare(_ address: String, at node: NodeRef) {
        declarations[address] = node
        if edges[address] == nil { edges[address] = [] }
    }

    mutating func add(_ from: String, _ to: String, at node: NodeRef?, path: KeyPath?) {
        edges[from, default: []].append(Edge(to: to, node: node, path: path))
    }

    /// Every cycle once, each starting at its smallest address and following the smallest
    /// successors, so the same graph always reports the same text.
    func cycles() -> [Cycle] {
        var result: [Cycle] = []
        for component in stronglyConnectedComponents() {
            let members = Set(component)
            let start = component.min()!
            let selfLoop = edges[start]?.contains { $0.to == start } ?? false
            guard component.count > 1 || selfLoop else { continue }
            // Breadth-first search from the start back to itself, successors in sorted order.
            var previous: [String: String] = [:]
            var queue = [start]
            var index = 0
            var found = false
            search: while index < queue.count {
                let current = queue[index]
                index += 1
                for next in Set((edges[current] ?? []).map(\.to)).sorted() where members.contains(next) {
                    if next == start { previous[start] = current; found = true; break search }
                    if previous[next] == nil { previous[next] = current; queue.append(next) }
                }
            }
            guard found else { continue }
            var path = [start]
            var cursor = previous[start]!
            while cursor != start {
                path.append(cursor)
                cursor = previous[cursor]!
            }
            path.append(start)
            let ordered = [start] + path.dropFirst().reversed().dropFirst()
            let addresses = ordered + [start]
            let firstEdge = edges[start]?.first { $0.to == addresses[1] }
            result.append(Cycle(addresses: addresses, node: firstEdge?.node ?? declarations[start], path: firstEdge?.path))
        }
        return result.sorted { $0.addresses.lexicographicallyPrecedes($1.addresses) }
    }

    /// Tarjan's algorithm, iterative so deep chains cannot overflow the stack.
    func stronglyConnectedComponents() -> [[String]] {
        var index = 0
        var indices: [String: Int] = [:]
        var lowlink: [String: Int] = [:]
        var onStack: Set<String> = []
        var stack: [String] = []
        var components: [[String]] = []
        for root in edges.keys.sorted() where indices[root] == nil {
            var work: [(String, Int)] = [(root, 0)]
            while let (node, start) = work.popLast() {
                var child = start
                if child == 0 {
                    indices[node] = index
                    lowlink[node] = index
                    index += 1
                    stack.append(node)
                    onStack.insert(node)
                }
                let successors = (edges[node] ?? []).map(\.to)
                var descended = false
                while child < successors.count {
                    let next = successors[child]
                    child += 1
                    if indices[next] == nil {
                        work.append((node, child))
                        work.append((next, 0))
                        descended = true
                        break
                    } else if onStack.contains(next) {
                        lowlink[node] = min(lowlink[node]!, indices[next]!)
                    }
                }
                if descended { continue }
                if lowlink[node] == indices[node] {
                    var component: [String] = []
                    while let top = stack.popLast() {
                        onStack.remove(top)
                        component.append(top)
                        if top == node { break }
                    }
                    components.append(component)
                }
                if let parent = work.last {
                    lowlink[parent.0] = min(lowlink[parent.0]!, lowlink[node]!)
                }
            }
        }
        return components
    }
}

/// An IPv4 or IPv6 address as bytes (4 or 16), parsed from its text form.
///
/// IPv4 is four dotted decimal octets (0–255, at most three digits each); IPv6 is eight groups of
/// one to four hex digits with at most one `::` (no embedded IPv4, no zone).
struct IPAddress: Sendable, Equatable {
    var bytes: [UInt8]

    init?(_ text: String) {
        if text.utf8.contains(UInt8(ascii: ":")) {
            guard let b = IPAddress.parseIPv6(Substring(text)) else { return nil }
            bytes = b
        } else {
            guard let b = IPAddress.parseIPv4(Substring(text)) else { return nil }
            bytes = b
        }
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.utf8.count), part.utf8.allSatisfy({ $0 &- 48 < 10 }), let v = Int(part), v <= 255 else { return nil }
            result.append(UInt8(v))
        }
        return result
    }

    static func parseIPv6(_ text: Substring) -> [UInt8]? {
        func groups(_ s: Substring) -> [UInt16]? {
            if s.isEmpty { return [] }
            var result: [UInt16] = []
            for g in s.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(g.utf8.count), let v = UInt16(g, radix: 16), g.allSatisfy(\.isHexDigit) else { return nil }
                result.append(v)
            }
            return result
        }
        var words: [UInt16]
        if let range = text.firstRange(of: "::") {
            let rest = text[range.upperBound...]
            guard !rest.contains("::"), let head = groups(text[..<range.lowerBound]), let tail = groups(rest), head.count + tail.count < 8 else { return nil }
            words = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let all = groups(text), all.count == 8 else { return nil }
            words = all
        }
        return words.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}

/// A `cidr` block: a network address and a prefix length; matches addresses of the same family
/// whose first `bits` bits agree (host bits written in the block are ignored).
struct CIDR: Sendable {
    var network: IPAddress
    var bits: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[1].isEmpty, parts[1].utf8.allSatisfy({ $0 &- 48 < 10 }), parts[1].utf8.count <= 3,
              let bits = Int(parts[1]), let address = IPAddress(String(parts[0])), bits <= address.bytes.count * 8
        else { return nil }
        self.network = address
        self.bits = bits
    }

    func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == network.bytes.count else { return false }
        var remaining = bits
        for i in 0..<network.bytes.count where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if address.bytes[i] & mask != network.bytes[i] & mask { return false }
            remaining -= 8
        }
        return true
    }
}

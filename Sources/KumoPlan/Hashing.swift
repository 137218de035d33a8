import Crypto
import KumoManifest

/// The hashes that state and plans compare: specs, code and secrets.
public enum Hashing {
    /// `sha256:` and the hex digest of `bytes`.
    public static func sha256<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        "sha256:" + hex(SHA256.hash(data: Array(bytes)))
    }

    /// The hash of a spec: SHA-256 of its canonical JSON (compact, keys sorted), so key order
    /// and formatting never count as a change.
    public static func specHash(_ spec: ConfigValue) -> String {
        sha256(spec.compactJSONBytes(sortedKeys: true))
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A short form for people: `sha256:1a2b3c4d5e6f`.
    public static func short(_ hash: String) -> String {
        guard hash.hasPrefix("sha256:") else { return hash }
        return String(hash.prefix(7 + 12))
    }
}

/// A secret value as state keeps it: `hmac-sha256:SALT:DIGEST`, with a random salt per value,
/// so the state never holds the value and equal values in two places do not look equal.
public struct SecretHash: Sendable, Equatable {
    public var salt: String
    public var digest: String

    public init(value: String, salt: String = SecretHash.randomSalt()) {
        self.salt = salt
        self.digest = SecretHash.digest(value, salt: salt)
    }

    public init?(text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "hmac-sha256", !parts[1].isEmpty, parts[2].count == 64 else { return nil }
        salt = String(parts[1])
        digest = String(parts[2])
    }

    public var text: String { "hmac-sha256:\(salt):\(digest)" }

    /// True when `value` is the value this hash was made from.
    public func matches(_ value: String) -> Bool {
        SecretHash.digest(value, salt: salt) == digest
    }

    static func digest(_ value: String, salt: String) -> String {
        let key = SymmetricKey(data: Array(salt.utf8))
        return Hashing.hex(HMAC<SHA256>.authenticationCode(for: Array(value.utf8), using: key))
    }

    public static func randomSalt() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hashing.hex((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

import Crypto
import Foundation

/// Hashes `code:` directories, so a plan sees an edited handler as a change.
///
/// The hash covers every regular file's relative path, executable bit and contents, and every
/// symbolic link's target, in sorted path order. Caches that running the code writes next to
/// it (`__pycache__/`, `*.pyc`, `.git/`, `.DS_Store`) are left out, so running a function does
/// not change its hash. This is the one part of the planner that reads files.
public struct CodeHasher: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "cannot hash code at '\(path)': \(reason)" }
    }

    static let skippedDirectories: Set<String> = ["__pycache__", ".git", ".kumo"]
    static let skippedFiles: Set<String> = [".DS_Store"]

    public init() {}

    /// The hash of `directory` (a file is hashed as a one-file tree).
    public func hash(directory: String) throws(Failure) -> String {
        var listing = ""
        var info = stat()
        guard lstat(directory, &info) == 0 else { throw Failure(path: directory, reason: String(cString: strerror(errno))) }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            try walk(directory, relative: "", into: &listing)
        } else {
            try entry(directory, relative: (directory as NSString).lastPathComponent, info: info, into: &listing)
        }
        return Hashing.sha256(listing.utf8)
    }

    private func walk(_ path: String, relative: String, into listing: inout String) throws(Failure) {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw Failure(path: path, reason: "cannot list the directory")
        }
        for name in names.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let full = path + "/" + name
            let rel = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard lstat(full, &info) == 0 else { throw Failure(path: full, reason: String(cString: strerror(errno))) }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                if CodeHasher.skippedDirectories.contains(name) { continue }
                listing += "d \(rel)\n"
                try walk(full, relative: rel, into: &listing)
            } else {
                if CodeHasher.skippedFiles.contains(name) || name.hasSuffix(".pyc") { continue }
                try entry(full, relative: rel, info: info, into: &listing)
            }
        }
    }

    private func entry(_ full: String, relative: String, info: stat, into listing: inout String) throws(Failure) {
        switch info.st_mode & S_IFMT {
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink(full, &buffer, buffer.count - 1)
            guard count >= 0 else { throw Failure(path: full, reason: String(cString: strerror(errno))) }
            let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            listing += "l \(relative) -> \(target)\n"
        case S_IFREG:
            let executable = info.st_mode & 0o111 != 0 ? "x" : "-"
            listing += "f \(relative) \(executable) \(try contentHash(full))\n"
        default:
            listing += "o \(relative)\n"  // sockets, fifos: present, contents not read
        }
    }

    private func contentHash(_ path: String) throws(Failure) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        return Hashing.hex(hasher.finalize())
    }
}

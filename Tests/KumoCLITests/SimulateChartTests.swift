import Foundation
import KumoTestSupport
import Testing

/// `kumo simulate --svg`: the chart's series follow the steps, and a real renderer (librsvg's
/// rsvg-convert, Debian's librsvg2-bin) draws them.
@Suite struct SimulateChartTests {
    /// The points of the polyline of class `name`.
    func points(_ name: String, in svg: String) throws -> [(x: Double, y: Double)] {
        let start = try #require(svg.range(of: "<polyline class=\"\(name)\""), "no \(name) series")
        let rest = svg[start.upperBound...]
        let open = try #require(rest.range(of: "points=\""))
        let close = try #require(rest[open.upperBound...].firstIndex(of: "\""))
        return try rest[open.upperBound..<close].split(separator: " ").map { pair in
            let xy = pair.split(separator: ",").compactMap { Double($0) }
            try #require(xy.count == 2, "bad point '\(pair)'")
            return (xy[0], xy[1])
        }
    }

    /// The y of a step line at x: the last point at or before it.
    func value(at x: Double, of line: [(x: Double, y: Double)]) -> Double? {
        line.last { $0.x <= x + 0.05 }?.y
    }

    func executable(_ name: String) -> String? {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
            return directory + "/" + name
        }
        return nil
    }

    @Test func theSeriesFollowTheStepsAndRender() throws {
        let rsvg = try #require(executable("rsvg-convert"), "rsvg-convert is needed (Debian's librsvg2-bin; scripts/deps --test installs it)")
        try KumoTestSupport.withTemporaryDirectory { dir in
            try SimulateTests.manifest.write(toFile: dir + "/kumo.yaml", atomically: true, encoding: .utf8)
            try SimulateTests.trace.write(toFile: dir + "/trace.csv", atomically: true, encoding: .utf8)
            let run = try KumoTestSupport.run(["simulate", "--policy", "scaling.api-load", "--trace", "trace.csv", "--svg", "chart.svg"], directory: dir)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.hasSuffix("\nWrote the chart to chart.svg.\n"))
            let svg = try String(contentsOfFile: dir + "/chart.svg", encoding: .utf8)
            let again = try KumoTestSupport.run(["simulate", "--policy", "scaling.api-load", "--trace", "trace.csv", "--svg", "again.svg", "--json"], directory: dir)
            #expect(try String(contentsOfFile: dir + "/again.svg", encoding: .utf8) == svg, "the chart is deterministic")
            #expect(again.status == 0)

            // What a reader needs: a title, both axes' names with units, a legend.
            for label in [">scaling.api-load → service.api</text>", ">replicas</text>", ">load (requests/s)</text>",
                          ">time since the first sample</text>", ">ideal replicas (load ÷ 10 per replica)</text>", ">1m</text>"] {
                #expect(svg.contains(label), "missing \(label)")
            }

            // The steps: t = 0, 15, …, 90 s; replicas 1, 1, 5, 5, 5, 5, 5; ideal load ÷ 10.
            let times = [0.0, 15, 30, 45, 60, 75, 90]
            let replicas = try points("replicas", in: svg)
            let ideal = try points("ideal", in: svg)
            let load = try points("load", in: svg)
            let x0 = try #require(replicas.first?.x), x1 = try #require(replicas.last?.x)
            func x(_ t: Double) -> Double { x0 + t / 90 * (x1 - x0) }
            let one = try #require(value(at: x(0), of: replicas)), five = try #require(value(at: x(30), of: replicas))
            #expect(five < one, "more replicas draw higher")
            let perReplica = (one - five) / 4
            let zero = one + perReplica
            func replicasAt(_ y: Double) -> Double { (zero - y) / perReplica }
            let drawn = times.map { value(at: x($0), of: replicas).map(replicasAt) }
            #expect(drawn.map { $0.map { ($0 * 10).rounded() / 10 } } == [1, 1, 5, 5, 5, 5, 5])
            let drawnIdeal = times.map { value(at: x($0), of: ideal).map(replicasAt) }
            #expect(drawnIdeal.map { $0.map { ($0 * 10).rounded() / 10 } } == [1, 1, 5, 5, 5, 5, 1])
            // The load has its own axis from the same baseline: 50 draws five times as high as 10.
            let low = try #require(value(at: x(0), of: load)), high = try #require(value(at: x(30), of: load))
            #expect(abs((zero - high) / (zero - low) - 5) < 0.05)

            // A real renderer accepts it, and the series are there in their colours.
            let render = Process()
            render.executableURL = URL(fileURLWithPath: rsvg)
            render.arguments = [dir + "/chart.svg", "-o", dir + "/chart.png"]
            try render.run()
            render.waitUntilExit()
            #expect(render.terminationStatus == 0)
            let probe = (x: Int(((x(30) + x(90)) / 2).rounded()), y: Int(five.rounded()))
            let pixels = try pixelReport(dir + "/chart.png", probe: probe)
            #expect(pixels["width"] as? Int == 960 && pixels["height"] as? Int == 500)
            // The load's outline lies under the dashed ideal line here (same scale): its gaps show it.
            for (series, least) in [("replicas", 150), ("ideal", 150), ("load", 40), ("load-area", 5000)] {
                #expect((pixels[series] as? Int ?? 0) > least, "too few \(series) pixels: \(pixels)")
            }
            #expect((pixels["white"] as? Int ?? 0) > 960 * 500 / 2, "mostly background")
            #expect(pixels["probe"] as? String == "replicas", "the replicas line at \(probe): \(pixels)")
        }
    }

    /// Decodes the PNG with Python's zlib (no image library needed) and counts the pixels near
    /// each series' colour, and names the colour at `probe`.
    func pixelReport(_ path: String, probe: (x: Int, y: Int)) throws -> [String: Any] {
        let script = #"""
            import json, struct, sys, zlib
            data = open(sys.argv[1], "rb").read()
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
            pos, idat = 8, b""
            while pos < len(data):
                (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
                body = data[pos + 8:pos + 8 + length]
                pos += 12 + length
                if kind == b"IHDR":
                    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
                elif kind == b"IDAT":
                    idat += body
            assert depth == 8 and interlace == 0 and ctype in (2, 6)
            bpp = 4 if ctype == 6 else 3
            raw, stride, prev, rows, i = zlib.decompress(idat), w * bpp, bytearray(w * bpp), [], 0
            for _ in range(h):
                f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
                i += 1 + stride
                for x in range(stride):
                    a = line[x - bpp] if x >= bpp else 0
                    b = prev[x]
                    c = prev[x - bpp] if x >= bpp else 0
                    if f == 1: line[x] = (line[x] + a) & 255
                    elif f == 2: line[x] = (line[x] + b) & 255
                    elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
                    elif f == 4:
                        p = a + b - c
                        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                        line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
                rows.append(line)
                prev = line
            colours = {"replicas": (0xd6, 0x27, 0x28), "ideal": (0x2c, 0xa0, 0x2c), "load": (0x1f, 0x77, 0xb4),
                       "load-area": (221, 235, 244), "white": (255, 255, 255)}
            def name(x, y):
                r, g, b = rows[y][x * bpp:x * bpp + 3]
                for key, (cr, cg, cb) in colours.items():
                    if abs(r - cr) + abs(g - cg) + abs(b - cb) < (12 if key == "load-area" else 60):
                        return key
                return None
            counts = {key: 0 for key in colours}
            for y in range(h):
                for x in range(w):
                    key = name(x, y)
                    if key:
                        counts[key] += 1
            counts.update(width=w, height=h, probe=name(int(sys.argv[2]), int(sys.argv[3])))
            print(json.dumps(counts))
            """#
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, path, String(probe.x), String(probe.y)]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "the PNG could not be decoded")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

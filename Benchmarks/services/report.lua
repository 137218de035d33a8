-- wrk report: one JSON line with requests, errors and latency percentiles (ms).
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "seconds": %.6f, "rps": %.2f, "errors": %d, "non2xx": %d, ' ..
      '"p50_ms": %.4f, "p90_ms": %.4f, "p99_ms": %.4f, "max_ms": %.4f, "mean_ms": %.4f}\n',
      summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
      e.connect + e.read + e.write + e.timeout, e.status,
      latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
      latency.max / 1e3, latency.mean / 1e3))
end

//! End-of-run statistics: a table on stderr and JSON for `--stats-json`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use doppel_pipeline::graph::RunReport;
use doppel_pipeline::output::OutputGuard;

/// Prints per-node statistics. Write errors are ignored: after SIGHUP the terminal is gone, and
/// the outputs matter more than the table.
pub fn print(report: &RunReport) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "{:<28} {:>7} {:>6} {:>9} {:>9} {:>8} {:>8} {:>9}",
        "node", "frames", "drops", "p50 ms", "p99 ms", "fps", "uploads", "readbacks"
    );
    for node in &report.nodes {
        let name: String = node.name.chars().take(28).collect();
        let _ = writeln!(
            err,
            "{:<28} {:>7} {:>6} {:>9.2} {:>9.2} {:>8.1} {:>8} {:>9}",
            name,
            node.frames,
            node.dropped,
            node.p50_ms,
            node.p99_ms,
            node.fps,
            node.uploads,
            node.readbacks
        );
    }
    let _ = writeln!(
        err,
        "frames in {} / out {} / dropped {} in {:.2} s; capture-to-output latency p50 {:.1} ms, p99 {:.1} ms",
        report.frames_in,
        report.frames_out,
        report.dropped,
        report.wall_s,
        report.latency_ms.p50,
        report.latency_ms.p99
    );
}

/// Writes the report as pretty JSON to `path`, claimed from `guard` before the run.
pub fn write_json(report: &RunReport, path: &Path, guard: &OutputGuard) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report).context("cannot serialise statistics")?;
    guard
        .write_claimed(path, text.as_bytes())
        .with_context(|| format!("cannot write statistics to {}", path.display()))
}

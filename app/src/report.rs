//! End-of-run statistics: a table on stderr and JSON for `--stats-json`.

use std::path::Path;

use anyhow::Context;
use doppel_pipeline::graph::RunReport;

/// Prints per-node statistics.
pub fn print(report: &RunReport) {
    errln!(
        "{:<28} {:>7} {:>6} {:>9} {:>9} {:>8}",
        "node",
        "frames",
        "drops",
        "p50 ms",
        "p99 ms",
        "fps"
    );
    for node in &report.nodes {
        let name: String = node.name.chars().take(28).collect();
        errln!(
            "{:<28} {:>7} {:>6} {:>9.2} {:>9.2} {:>8.1}",
            name,
            node.frames,
            node.dropped,
            node.p50_ms,
            node.p99_ms,
            node.fps
        );
    }
    errln!(
        "frames in {} / out {} / dropped {} in {:.2} s; capture-to-output latency p50 {:.1} ms, p99 {:.1} ms",
        report.frames_in,
        report.frames_out,
        report.dropped,
        report.wall_s,
        report.latency_ms.p50,
        report.latency_ms.p99
    );
}

/// Writes the report as pretty JSON.
pub fn write_json(report: &RunReport, path: &Path) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report).context("cannot serialise statistics")?;
    std::fs::write(path, text)
        .with_context(|| format!("cannot write statistics to {}", path.display()))
}

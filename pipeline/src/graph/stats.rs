//! Per-node statistics: frames, drops, time per frame (p50/p99) and throughput.

use serde::Serialize;

use super::sketch::Sketch;
use crate::frame::Transfers;

/// Which part of the pipeline a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    Source,
    Stage,
    Sink,
}

/// Collects per-frame durations of one node while it runs, in fixed memory (a [`Sketch`]).
#[derive(Debug, Default)]
pub struct Recorder {
    samples_ms: Sketch,
    dropped: u64,
    transfers: Transfers,
}

impl Recorder {
    pub fn record(&mut self, ms: f64) {
        self.samples_ms.record(ms);
    }

    /// Pixel transfers between CPU and GPU this node caused on one frame.
    pub fn transfers(&mut self, t: Transfers) {
        self.transfers.uploads += t.uploads;
        self.transfers.readbacks += t.readbacks;
    }

    /// A frame this node produced but discarded because the next node was still busy (live mode).
    pub fn drop_one(&mut self) {
        self.dropped += 1;
    }

    /// Summarises the samples; `wall_s` is the run's duration (for fps).
    pub fn finish(self, name: String, kind: NodeKind, wall_s: f64) -> NodeStats {
        let summary = self.samples_ms.summary();
        NodeStats {
            name,
            kind,
            frames: summary.count,
            dropped: self.dropped,
            uploads: self.transfers.uploads,
            readbacks: self.transfers.readbacks,
            p50_ms: summary.p50,
            p99_ms: summary.p99,
            mean_ms: summary.mean,
            fps: if wall_s > 0.0 {
                summary.count as f64 / wall_s
            } else {
                0.0
            },
        }
    }
}

/// Count, mean and percentiles of a set of millisecond samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
}

impl Summary {
    /// Nearest-rank percentiles of samples kept in full (exact; streams use [`Sketch`]); all zero for
    /// no samples.
    pub fn of(mut samples: Vec<f64>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Self {
            count: samples.len() as u64,
            mean: samples.iter().sum::<f64>() / samples.len() as f64,
            p50: at(0.50),
            p99: at(0.99),
        }
    }
}

/// What one node did during a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeStats {
    pub name: String,
    pub kind: NodeKind,
    /// Frames this node handled.
    pub frames: u64,
    /// Frames this node produced that the next node never saw (live mode: newest frame wins).
    pub dropped: u64,
    /// Frames this node sent from the CPU to the GPU (see [`crate::frame::Pixels`]).
    pub uploads: u64,
    /// Frames this node read back from the GPU to the CPU.
    pub readbacks: u64,
    /// Time per frame spent inside the node (not waiting on channels).
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    /// Frames per second over the whole run.
    pub fps: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let s = Summary::of((1..=100).map(f64::from).collect());
        assert_eq!(s.count, 100);
        assert_eq!(s.p50, 51.0);
        assert_eq!(s.p99, 99.0);
        assert!((s.mean - 50.5).abs() < 1e-9);
        assert_eq!(Summary::of(Vec::new()), Summary::default());
    }
}

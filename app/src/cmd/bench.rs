//! `doppel bench`: throughput figures as ratios against baselines measured in the same run (the
//! machines are noisy, so absolute numbers are only context). Runs alternate between the two sides
//! and the median of each side is compared.
//!
//! - `overhead`: four `passthrough` stages vs one on 720p frames replayed from memory into the null
//!   sink: what each extra stage thread and channel hop costs.
//! - `encode`: `doppel process CLIP -o OUT.mp4` with no stages vs `ffmpeg -i CLIP -c:v libx264
//!   -preset P OUT.mp4` with the same preset.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use doppel_pipeline::graph::{self, RunConfig};
use doppel_pipeline::sink::null::NullSink;
use doppel_pipeline::sink::video::VideoSettings;
use doppel_pipeline::source::replay::ReplaySource;
use doppel_pipeline::source::synthetic::{SyntheticConfig, SyntheticSource};
use doppel_pipeline::source::{self, OpenOptions};
use doppel_pipeline::stages::passthrough::Passthrough;
use doppel_pipeline::{sink, Mode, Stage};
use serde_json::json;

#[derive(Args)]
pub struct BenchArgs {
    /// Which figures to measure: all, overhead or encode.
    #[arg(long, default_value = "all", value_parser = ["all", "overhead", "encode"])]
    pub only: String,
    /// 720p H.264 clip for the encode comparison.
    #[arg(long, default_value = "assets/bigbuckbunny.mp4")]
    pub clip: PathBuf,
    /// x264 preset used by both sides of the encode comparison.
    #[arg(long, default_value = "medium")]
    pub preset: String,
    /// Runs per side (alternating); the median is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub repeat: u32,
    /// Frames per overhead run.
    #[arg(long, default_value_t = 1500)]
    pub frames: u64,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Frames per second of `passthrough` x `stages` on replayed 720p frames.
fn overhead_run(stages: usize, frames: u64) -> anyhow::Result<f64> {
    let mut synthetic = SyntheticSource::new(SyntheticConfig {
        width: 1280,
        height: 720,
        fps: 30,
        frames: Some(30),
        live: false,
    });
    let source = ReplaySource::capture(&mut synthetic, 30, frames)?;
    let chain: Vec<Box<dyn Stage>> = (0..stages)
        .map(|_| Box::new(Passthrough) as Box<dyn Stage>)
        .collect();
    let started = Instant::now();
    let report = graph::run(
        Box::new(source),
        chain,
        Box::new(NullSink::default()),
        RunConfig::new(Mode::Offline),
    )
    .into_result()?;
    if report.frames_out != frames {
        bail!(
            "overhead run lost frames: {} of {frames}",
            report.frames_out
        );
    }
    Ok(frames as f64 / started.elapsed().as_secs_f64())
}

/// Seconds for doppel to re-encode `clip` with no stages.
fn doppel_encode(clip: &Path, out: &Path, preset: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let source = source::open(&clip.display().to_string(), &OpenOptions::default())?;
    // x264's default quality (crf 23), as the ffmpeg command line it is compared with.
    let settings = VideoSettings {
        preset: preset.to_string(),
        crf: 23,
        ..VideoSettings::default()
    };
    let sink = sink::open_with(&out.display().to_string(), source.info(), &settings)?;
    graph::run(source, Vec::new(), sink, RunConfig::new(Mode::Offline)).into_result()?;
    Ok(started.elapsed().as_secs_f64())
}

/// Seconds for the ffmpeg CLI to re-encode `clip` the same way.
fn ffmpeg_encode(clip: &Path, out: &Path, preset: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(clip)
        .args(["-c:v", "libx264", "-preset", preset])
        .arg(out)
        .status()
        .context("cannot run ffmpeg (is it installed?)")?;
    if !status.success() {
        bail!("ffmpeg failed on {}", clip.display());
    }
    Ok(started.elapsed().as_secs_f64())
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let mut figures = serde_json::Map::new();
    if args.only != "encode" {
        let (mut one, mut four) = (Vec::new(), Vec::new());
        for _ in 0..args.repeat {
            one.push(overhead_run(1, args.frames)?);
            four.push(overhead_run(4, args.frames)?);
        }
        let (one, four) = (median(one), median(four));
        outln!(
            "overhead  720p replay -> null: 1 passthrough {one:.0} fps, 4 passthrough {four:.0} fps, ratio {:.3} (target >= 0.95)",
            four / one
        )?;
        figures.insert(
            "overhead".into(),
            json!({"fps_1_stage": one, "fps_4_stages": four, "ratio": four / one, "frames": args.frames}),
        );
    }
    if args.only != "overhead" {
        if !args.clip.is_file() {
            bail!(
                "clip {} not found (give one with --clip)",
                args.clip.display()
            );
        }
        let dir = tempfile_dir()?;
        let frames = source::open(&args.clip.display().to_string(), &OpenOptions::default())?
            .info()
            .frame_count
            .unwrap_or(0) as f64;
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..args.repeat {
            theirs.push(ffmpeg_encode(
                &args.clip,
                &dir.join("ffmpeg.mp4"),
                &args.preset,
            )?);
            ours.push(doppel_encode(
                &args.clip,
                &dir.join("doppel.mp4"),
                &args.preset,
            )?);
        }
        let _ = std::fs::remove_dir_all(&dir);
        let (ours, theirs) = (median(ours), median(theirs));
        outln!(
            "encode    {} ({frames} frames), preset {}: doppel {:.1} fps, ffmpeg {:.1} fps, throughput ratio {:.3} (target >= 0.9)",
            args.clip.display(),
            args.preset,
            frames / ours,
            frames / theirs,
            theirs / ours
        )?;
        figures.insert(
            "encode".into(),
            json!({"clip": args.clip, "preset": args.preset, "frames": frames,
                   "doppel_s": ours, "ffmpeg_s": theirs, "ratio": theirs / ours}),
        );
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&figures)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("doppel-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

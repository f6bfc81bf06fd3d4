//! `doppel process INPUT -o OUTPUT --stages SPEC`: offline (lossless, ordered) processing.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use doppel_pipeline::graph::{self, RunConfig};
use doppel_pipeline::sink::video::VideoSettings;
use doppel_pipeline::source::trim::Trim;
use doppel_pipeline::source::{self, OpenOptions};
use doppel_pipeline::spec::{parse_pipeline_toml, parse_stages, StageSpec};
use doppel_pipeline::{sink, Error, Mode};
use indicatif::{ProgressBar, ProgressStyle};

use crate::report;

#[derive(Args)]
pub struct ProcessArgs {
    /// A video file, an image, a folder or glob of images, `synthetic[:width=..:height=..:fps=..:frames=..]`,
    /// a camera (`camera`, `camera:N`), or `-` (or `pipe:`): a container or YUV4MPEG stream on
    /// standard input (its audio is not copied).
    pub input: String,

    /// Output: a video (`out.mp4`, `.mkv`, `.mov`), an image (`out.png`, single-image input), a numbered
    /// sequence (`frames/%05d.png`), `null`, or `-`: standard output (YUV4MPEG unless --format names a
    /// container; progress and messages stay on stderr).
    #[arg(short, long)]
    pub output: String,

    /// The output's container by FFmpeg's muxer name (`ffmpeg -muxers`): matroska, mp4, nut, mpegts,
    /// yuv4mpegpipe... Needed for `-o -`, where no extension says it; a file's extension otherwise.
    #[arg(long, value_name = "MUXER")]
    pub format: Option<String>,

    /// Stages to run, in order: `resize:width=640,blur:radius=2`. See `doppel stages`.
    #[arg(long, default_value = "", conflicts_with = "pipeline")]
    pub stages: String,

    /// A TOML pipeline file with [[stage]] entries instead of --stages.
    #[arg(long)]
    pub pipeline: Option<PathBuf>,

    /// Write per-stage statistics (frames, drops, p50/p99 ms, fps) as JSON to this file.
    #[arg(long)]
    pub stats_json: Option<PathBuf>,

    /// Frame rate given to image sequences.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub fps: u32,

    /// Run in live mode: newest frame wins, late frames are dropped and counted (default: every
    /// frame, in order).
    #[arg(long)]
    pub live: bool,

    /// Write the video so that it stays readable if the process is killed (fragmented MP4,
    /// Matroska in short clusters, every frame flushed; x264 without lookahead): `kill -9` or a
    /// power cut loses at most the last frames. Written under its final name from the start.
    /// The default for live recordings (`--live`); `--no-crash-safe` turns it off there.
    #[arg(long, overrides_with = "no_crash_safe")]
    pub crash_safe: bool,

    /// A plain video even for a live recording (one index at the end: smaller, but lost if killed).
    #[arg(long)]
    pub no_crash_safe: bool,

    /// Video codec: h264 (libx264, the default), hevc (libx265), vp9 (libvpx-vp9, the default for
    /// .webm), av1 (libsvtav1), or any FFmpeg video encoder by name (`ffmpeg -encoders`), e.g.
    /// h264_nvenc or h264_vaapi where FFmpeg has them.
    #[arg(long, value_name = "CODEC")]
    pub codec: Option<String>,

    /// Constant rate factor on x264's scale (0 lossless, 18 visually lossless, 20 the default; VP9
    /// gets crf+12).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=51))]
    pub crf: Option<u8>,

    /// Target average bitrate instead of --crf: bits per second, or with a k/M suffix (`800k`,
    /// `2.5M`).
    #[arg(long, value_name = "RATE", value_parser = parse_bitrate, conflicts_with = "crf")]
    pub bitrate: Option<u64>,

    /// Encoder speed preset, ultrafast ... veryslow (x264/x265 names; VP9 maps them to its speeds).
    #[arg(long, value_parser = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"])]
    pub preset: Option<String>,

    /// Leave the input's audio out (default: copied when the output can hold it).
    #[arg(long)]
    pub no_audio: bool,

    /// Start this far into the input: seconds (`12.5`) or `[HH:]MM:SS[.mmm]`. The output starts at
    /// the first frame from there, its audio with it.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub start: Option<f64>,

    /// Process only this long a part of the input (seconds or `[HH:]MM:SS[.mmm]`), video and audio.
    #[arg(long, value_name = "TIME", value_parser = parse_positive_time)]
    pub duration: Option<f64>,
}

fn parse_time(text: &str) -> Result<f64, String> {
    doppel_pipeline::source::trim::parse_time(text)
}

fn parse_positive_time(text: &str) -> Result<f64, String> {
    let seconds = parse_time(text)?;
    if seconds <= 0.0 {
        return Err(format!(
            "'{text}' is no time at all; expected a duration longer than 0"
        ));
    }
    Ok(seconds)
}

/// `--bitrate`: bits per second, or kilo/mega bits with a `k`/`M` suffix.
fn parse_bitrate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'm' | 'M')) => (&t[..i], 1e6),
        _ => (t, 1.0),
    };
    let bits = number
        .parse::<f64>()
        .ok()
        .map(|n| n * scale)
        .filter(|b| b.is_finite() && (1e3..=1e10).contains(b))
        .ok_or_else(|| {
            format!("expected bits per second from 1k to 10000M, e.g. 800k or 2.5M, got {text:?}")
        })?;
    Ok(bits.round() as u64)
}

/// FFmpeg's encoder for a `--codec` short name; other names are FFmpeg encoder names as given.
fn encoder_name(codec: &str) -> String {
    match codec.to_ascii_lowercase().as_str() {
        "h264" | "avc" | "x264" => "libx264".to_string(),
        "hevc" | "h265" | "x265" => "libx265".to_string(),
        "vp9" => "libvpx-vp9".to_string(),
        "av1" => "libsvtav1".to_string(),
        _ => codec.to_string(),
    }
}

fn load_specs(args: &ProcessArgs) -> anyhow::Result<Vec<StageSpec>> {
    match &args.pipeline {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read pipeline file {}", path.display()))?;
            parse_pipeline_toml(&text).with_context(|| format!("pipeline file {}", path.display()))
        }
        None => Ok(parse_stages(&args.stages)?),
    }
}

pub fn run(args: ProcessArgs) -> anyhow::Result<ExitCode> {
    let mode = if args.live { Mode::Live } else { Mode::Offline };
    let specs = load_specs(&args)?;
    let (_, stages) = super::build_stages(&specs, &[], mode, None)?;
    // Every output is claimed before the first frame: an input, a clash between -o and
    // --stats-json or an existing file stops the run here. Files are published at the end.
    let guard = crate::outputs::guard(false).deferred();
    guard.add_input(&args.input);
    if let Some(path) = &args.pipeline {
        guard.add_input_path(path);
    }
    let source = source::open(
        &args.input,
        &OpenOptions {
            image_fps: args.fps,
            live: false,
            trim: Trim {
                start: args.start.unwrap_or(0.0),
                duration: args.duration,
            },
        },
    )?;
    let info = source.info().clone();
    let defaults = VideoSettings::default();
    let settings = VideoSettings {
        // A live recording (a camera, a call) cannot be made again: crash-safe unless asked not.
        crash_safe: args.crash_safe || (args.live && !args.no_crash_safe),
        codec: args.codec.as_deref().map(encoder_name),
        crf: args.crf.unwrap_or(defaults.crf),
        bitrate: args.bitrate,
        preset: args.preset.clone().unwrap_or(defaults.preset.clone()),
        keep_audio: !args.no_audio,
        format: args.format.clone(),
    };
    let to_stdout = sink::is_stdout_output(&args.output);
    if to_stdout && std::io::stdout().is_terminal() {
        anyhow::bail!(
            "-o - writes video to standard output, which is a terminal here; pipe it (`| ffplay -`, `| ffmpeg -i - ...`) or name a file"
        );
    }
    if source::is_stdin_input(&args.input) && info.has_audio && !args.no_audio {
        errln!("note: the audio of piped input is not copied (a pipe cannot be read twice); give the file instead to keep it");
    }
    let sink = sink::open_guarded(&args.output, &info, &settings, &guard)?;
    if let Some(path) = &args.stats_json {
        guard.claim(path)?;
    }

    let mut config = RunConfig::new(mode);
    crate::signals::install(
        config.handle.clone(),
        Some(guard.clone()),
        || {},
        "the output",
    )?;

    let bar = if crate::logging::quiet() {
        ProgressBar::hidden()
    } else {
        progress_bar(info.frame_count)
    };
    {
        let bar = bar.clone();
        config.progress = Some(Arc::new(move |n| bar.set_position(n)));
    }
    if !crate::logging::quiet() {
        errln!(
            "{} ({}x{}{}) -> {} via [{}]",
            info.name,
            info.width,
            info.height,
            info.frame_rate
                .map(|r| format!(", {:.3} fps", r.as_f64()))
                .unwrap_or_default(),
            args.output,
            specs
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    let outcome = graph::run(source, stages, sink, config);
    bar.finish_and_clear();
    let report = &outcome.report;
    // What the run made replaces earlier files only when it ended well, was stopped, or stopped at
    // damage in the input (the frames before it are good); a crash-safe video cut by a full disk
    // keeps its safe frames. Any other failure leaves the earlier files as they were.
    let keep = match &outcome.error {
        None | Some(Error::Truncated { .. }) => true,
        Some(Error::DiskFull { kept, .. }) => *kept,
        Some(_) => false,
    };
    let published = guard.finish(keep);
    if !crate::logging::quiet() {
        report::print(report);
    }
    if let Some(path) = &args.stats_json {
        report::write_json(report, path, &guard)?;
    }
    if let Some(error) = outcome.error {
        let written = report.frames_out;
        let note = match &error {
            Error::Truncated { .. } => format!(
                "{written} decodable frames were processed and written to {}",
                args.output
            ),
            Error::DiskFull { .. } => format!("{written} frames were processed"),
            _ => format!(
                "the run failed after {written} frames, so {} was not written (an earlier file there is unchanged)",
                args.output
            ),
        };
        return Err(anyhow::Error::new(error).context(note));
    }
    published?;
    if report.interrupted {
        errln!(
            "interrupted: {} frames written to {}",
            report.frames_out,
            args.output
        );
        return Ok(ExitCode::from(crate::signals::exit_status()));
    }
    if !crate::logging::quiet() {
        errln!("wrote {} frames to {}", report.frames_out, args.output);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn progress_bar(total: Option<u64>) -> ProgressBar {
    match total {
        Some(n) => {
            let bar = ProgressBar::new(n);
            if let Ok(style) =
                ProgressStyle::with_template("{bar:40} {pos}/{len} frames  {per_sec:.1}  ETA {eta}")
            {
                bar.set_style(style);
            }
            bar
        }
        None => {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {pos} frames  {per_sec:.1}")
            {
                bar.set_style(style);
            }
            bar
        }
    }
}

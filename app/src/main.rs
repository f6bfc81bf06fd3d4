//! `doppel`: camera to live avatar, and any video to a processed one.

// Lines go through `say` (outln!/errln!): the print macros panic on a closed pipe. Unwrap and expect
// are kept out of non-test code: every failure is a message.
#![cfg_attr(
    not(test),
    deny(
        clippy::print_stdout,
        clippy::print_stderr,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

#[macro_use]
mod say;
mod cmd;
mod config;
mod live;
mod logging;
mod outputs;
mod report;
mod signals;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// doppel — a frame pipeline for live avatars and processed video.
#[derive(Parser)]
#[command(name = "doppel", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    overwrite: outputs::OverwriteArgs,
    /// Execution provider for every model stage that does not set its own `provider=`: cpu, cuda,
    /// tensorrt, openvino, xnnpack, rocm, migraphx, directml, coreml or an ONNX Runtime provider name,
    /// with options after `:` (cuda:device_id=1, openvino:device_type=GPU:strict=true). A provider
    /// that cannot be used is an error, never a silent CPU fallback.
    #[arg(long, global = true, value_name = "PROVIDER", value_parser = parse_provider)]
    provider: Option<doppel_pipeline::infer::ExecutionProvider>,
    /// More log messages on stderr (-v info, -vv debug, -vvv trace; ONNX Runtime's and wgpu's too).
    /// RUST_LOG, when set, chooses instead (e.g. RUST_LOG=ort=debug,wgpu_core=info).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// No progress bar or statistics table, and log messages for errors only (notes still show).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
}

fn parse_provider(text: &str) -> Result<doppel_pipeline::infer::ExecutionProvider, String> {
    doppel_pipeline::infer::ExecutionProvider::parse(text)
}

#[derive(Subcommand)]
enum Command {
    /// Process a video, an image, a folder of images or the synthetic source into a file.
    Process(cmd::process::ProcessArgs),
    /// Run live: camera (or file, synthetic) through the stages to a window, a virtual camera
    /// and/or VMC output.
    Live(cmd::live::LiveArgs),
    /// List every stage with its options and defaults.
    Stages,
    /// List cameras.
    Devices,
    /// Check the installation: ONNX Runtime, GPU adapter, FFmpeg, cameras.
    Doctor,
    /// Measure throughput figures as ratios against baselines run alongside.
    Bench(cmd::bench::BenchArgs),
    /// Track faces (mesh, head pose, expressions) and write them as JSON Lines, one line per frame.
    Track(cmd::track::TrackArgs),
    /// Named styles: list them, or add one from a picture or a blend of built-in styles.
    Skills(cmd::skills::SkillsArgs),
    /// Make an animated sticker (GIF, APNG, WebP; WhatsApp or Telegram) from a photo or clip of a face.
    Sticker(cmd::sticker::StickerArgs),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell
    /// (`doppel completions bash > ~/.local/share/bash-completion/completions/doppel`).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff) on stdout; the Debian package installs it as doppel(1).
    #[command(hide = true)]
    Manpage,
}

/// Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid or not set" on every GPU start when the
/// variable is missing (headless servers, CI). doppel needs no Wayland, so give it a private folder.
/// Runs first in `main`, before any thread exists, so changing the environment is sound.
fn quiet_missing_runtime_dir() {
    if cfg!(target_os = "linux") && std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let user = std::env::var("USER").unwrap_or_default();
        let dir = std::env::temp_dir().join(format!("doppel-runtime-{user}"));
        if std::fs::create_dir_all(&dir).is_ok() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
            }
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
}

fn main() -> ExitCode {
    quiet_missing_runtime_dir();
    let cli = Cli::parse();
    outputs::set(cli.overwrite);
    logging::init(cli.verbose, cli.quiet);
    if let Some(provider) = cli.provider {
        cmd::set_provider(provider);
    }
    let result = match cli.command {
        Command::Process(args) => cmd::process::run(args),
        Command::Live(args) => cmd::live::run(args),
        Command::Stages => cmd::stages::run().map(|()| ExitCode::SUCCESS),
        Command::Devices => cmd::devices::run().map(|()| ExitCode::SUCCESS),
        Command::Doctor => cmd::doctor::run(),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Track(args) => cmd::track::run(args),
        Command::Skills(args) => cmd::skills::run(args),
        Command::Sticker(args) => cmd::sticker::run(args),
        Command::Completions { shell } => completions(shell),
        Command::Manpage => manpage(),
    };
    match result {
        Ok(code) => code,
        Err(e) if say::is_stdout_closed(&e) => ExitCode::from(say::EXIT_STDOUT_CLOSED),
        Err(e) => {
            errln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "doppel", &mut out);
    say::write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn manpage() -> anyhow::Result<ExitCode> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    say::write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Paths shown to users are shown as given.
pub fn shown(path: &std::path::Path) -> String {
    PathBuf::from(path).display().to_string()
}

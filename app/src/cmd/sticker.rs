//! `doppel sticker PHOTO -o me.gif [--skill NAME] [--set]`: a personal animated sticker. Finds the
//! face, crops it square, stylizes it (a skill, a built-in style, or none) and animates it in a
//! looping GIF, APNG or animated WebP; `--set` writes one file per animation into a folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use doppel_pipeline::sticker::{self, Animation, Format};
use doppel_pipeline::style::colors::keep_colors;
use doppel_pipeline::style::{Colors, SkillLibrary, Style, StyleWeights, Stylizer, StylizerConfig};
use doppel_pipeline::track::{FaceTracker, TrackerConfig};

#[derive(Args)]
pub struct StickerArgs {
    /// The photo with a face.
    pub photo: PathBuf,
    /// Output file (with --set: a folder that receives one file per animation).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Draw the face in this skill (see `doppel skills list`).
    #[arg(long, conflicts_with = "style")]
    pub skill: Option<String>,
    /// Draw the face in this built-in style, 0..=25.
    #[arg(long)]
    pub style: Option<usize>,
    /// Animation: nod, wink, bounce or zoom.
    #[arg(long, default_value = "wink", value_parser = Animation::NAMES)]
    pub animation: String,
    /// Write a pack of every animation (nod, wink, bounce, zoom) into the --output folder.
    #[arg(long)]
    pub set: bool,
    /// File format: gif, apng or webp (default: from the output's extension, else gif).
    #[arg(long, value_parser = Format::NAMES)]
    pub format: Option<String>,
    /// Side of the square sticker in pixels, 32..=512.
    #[arg(long, default_value_t = 320, value_parser = clap::value_parser!(u32).range(32..=512))]
    pub size: u32,
    /// Frames in the loop, 12..=24.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(12..=24))]
    pub frames: u32,
    /// Milliseconds per frame.
    #[arg(long, default_value_t = 70, value_parser = clap::value_parser!(u32).range(20..=1000))]
    pub delay: u32,
}

pub fn run(args: StickerArgs) -> anyhow::Result<ExitCode> {
    // Checked before the slow part (tracking, stylizing); written at the end.
    let guard = crate::outputs::guard(false);
    guard.add_input_path(&args.photo);
    let targets: Vec<PathBuf> = if args.set {
        Animation::ALL
            .iter()
            .map(|a| {
                args.output
                    .join(format!("{}.{}", a.name(), set_format(&args).extension()))
            })
            .collect()
    } else {
        vec![args.output.clone()]
    };
    for path in &targets {
        guard.claim(path)?;
    }
    let photo = image::open(&args.photo)
        .map_err(|e| anyhow::anyhow!("cannot read photo {}: {e}", args.photo.display()))?
        .to_rgba8();
    let format = set_format(&args);
    let (style, colors) = match (&args.skill, args.style) {
        (Some(name), _) => {
            let listing = SkillLibrary::default().list()?;
            super::skills::warn_skipped(&listing);
            let skill = listing.find(name)?;
            (Some(skill.style()?), skill.colors.unwrap_or_default())
        }
        (None, Some(index)) => (
            Some(Style::Weights(StyleWeights::one(index)?)),
            Colors::Style,
        ),
        (None, None) => (None, Colors::Style),
    };
    let mut tracker = FaceTracker::load(&TrackerConfig::default())?;
    let crop = sticker::crop_face(&photo, &args.photo, &mut tracker, args.size)?;
    let base = match &style {
        Some(style) => {
            let mut stylizer = Stylizer::new(StylizerConfig::default());
            stylizer.set_style(style)?;
            let mut styled = stylizer.run(&crop.image)?;
            if colors == Colors::Keep {
                keep_colors(&crop.image, &mut styled)?;
            }
            styled
        }
        None => crop.image.clone(),
    };
    let animations: Vec<Animation> = if args.set {
        Animation::ALL.to_vec()
    } else {
        Animation::from_name(&args.animation).into_iter().collect()
    };
    if animations.is_empty() {
        bail!("unknown animation '{}'", args.animation);
    }
    for animation in animations {
        let path = if args.set {
            args.output
                .join(format!("{}.{}", animation.name(), format.extension()))
        } else {
            args.output.clone()
        };
        let frames = sticker::animate(&base, &crop.mesh, animation, args.frames);
        let bytes = sticker::encode_animation(&path, &frames, args.delay, format)?;
        guard.write_claimed(&path, &bytes)?;
        outln!(
            "wrote {} ({}, {} frames of {}x{}, loops forever)",
            shown(&path),
            animation.name(),
            frames.len(),
            args.size,
            args.size
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The file format: `--format`, else the output's extension (GIF for a set or an unknown one).
fn set_format(args: &StickerArgs) -> Format {
    match &args.format {
        Some(name) => Format::from_name(name).unwrap_or(Format::Gif),
        None if args.set => Format::Gif,
        None => Format::from_path(&args.output).unwrap_or(Format::Gif),
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

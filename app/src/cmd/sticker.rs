//! `doppel sticker PHOTO|CLIP -o me.webp [--for whatsapp|telegram] [--skill NAME] [--set]`: a
//! personal animated sticker. From a photo: the face is found, cropped square (inside the photo),
//! stylized if asked, the person cut out, and the face animated by its mesh (wink, blink, smile,
//! laugh, nod, tilt, bounce, zoom). From a clip (`CLIP.mp4`, or `--camera N --seconds 3`): the
//! person's own expressions, looped where the ends match. Then written as GIF, APNG or WebP, or
//! for a messaging app (`--for`: its format, size and byte limit); `--set` writes one file per
//! animation into a folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use doppel_pipeline::locate::Locator;
use doppel_pipeline::sticker::cutout::parse_color;
use doppel_pipeline::sticker::{self, clip, Animation, Cutout, Format, Look, Preset};
use doppel_pipeline::style::colors::keep_colors;
use doppel_pipeline::style::portrait::{PortraitStylizer, DEFAULT_PORTRAIT};
use doppel_pipeline::style::{Colors, SkillLibrary, Style, StyleWeights, Stylizer, StylizerConfig};
use doppel_pipeline::track::segment::SegmentConfig;
use doppel_pipeline::track::{FaceTracker, TrackerConfig};
use image::RgbaImage;

#[derive(Args)]
pub struct StickerArgs {
    /// The photo with a face, or a short clip of the person (a video file).
    #[arg(required_unless_present = "camera")]
    pub photo: Option<PathBuf>,
    /// Film the sticker with camera N instead (see `doppel devices`).
    #[arg(long, conflicts_with = "photo")]
    pub camera: Option<u32>,
    /// Seconds of the clip or camera to choose the loop from (a loop is at most 3 s).
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f32,
    /// Output file (with --set: a folder that receives one file per animation).
    #[arg(short, long)]
    pub output: PathBuf,
    /// For a messaging app: whatsapp (512x512 animated WebP, <= 500 KB) or telegram (512 px WebM
    /// VP9, <= 3 s, <= 256 KB); both transparent.
    #[arg(long = "for", value_parser = Preset::NAMES)]
    pub preset: Option<String>,
    /// Draw the person as a cartoon that keeps their likeness (the portrait model, CartoonGAN
    /// Shinkai; face-aware).
    #[arg(long, conflicts_with_all = ["skill", "style"])]
    pub cartoon: bool,
    /// Draw the person in this skill (see `doppel skills list`).
    #[arg(long, conflicts_with = "style")]
    pub skill: Option<String>,
    /// Draw the person in this built-in style, 0..=25.
    #[arg(long)]
    pub style: Option<usize>,
    /// What goes behind the person: transparent (default), a colour name or #rrggbb.
    #[arg(long, default_value = "transparent")]
    pub background: String,
    /// Keep the photo's own background instead of cutting the person out.
    #[arg(long, conflicts_with = "background")]
    pub keep_background: bool,
    /// Draw an outline around the person (white unless a colour is given).
    #[arg(long, num_args = 0..=1, default_missing_value = "white")]
    pub outline: Option<String>,
    /// Animation of a photo: wink, blink, smile, laugh, nod, tilt, bounce or zoom.
    #[arg(long, default_value = "wink", value_parser = Animation::NAMES)]
    pub animation: String,
    /// Write a pack of every animation into the --output folder.
    #[arg(long)]
    pub set: bool,
    /// File format without --for: gif, apng or webp (default: from the output's extension, else gif).
    #[arg(long, value_parser = Format::NAMES, conflicts_with = "preset")]
    pub format: Option<String>,
    /// Side of the square sticker in pixels, 32..=512 (--for: 512).
    #[arg(long, default_value_t = 320, value_parser = clap::value_parser!(u32).range(32..=512))]
    pub size: u32,
    /// Frames in a photo's loop, 12..=24.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(12..=24))]
    pub frames: u32,
    /// Milliseconds per frame of a photo's loop.
    #[arg(long, default_value_t = 70, value_parser = clap::value_parser!(u32).range(20..=1000))]
    pub delay: u32,
}

/// Where the sticker's pictures come from.
enum Input {
    Photo(PathBuf),
    Clip(PathBuf),
    Camera(u32),
}

impl Input {
    fn name(&self) -> PathBuf {
        match self {
            Self::Photo(p) | Self::Clip(p) => p.clone(),
            Self::Camera(n) => PathBuf::from(format!("camera:{n}")),
        }
    }
}

pub fn run(args: StickerArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let preset = args.preset.as_deref().and_then(Preset::from_name);
    let input = match (&args.photo, args.camera) {
        (_, Some(n)) => Input::Camera(n),
        (Some(p), None) if image::ImageFormat::from_path(p).is_ok() => Input::Photo(p.clone()),
        (Some(p), None) => Input::Clip(p.clone()),
        (None, None) => bail!("give a photo or clip, or --camera N"),
    };
    if !(0.5..=30.0).contains(&args.seconds) {
        bail!(
            "--seconds {} is out of range; expected 0.5 to 30",
            args.seconds
        );
    }
    if args.set && !matches!(input, Input::Photo(_)) {
        bail!("--set makes one sticker per animation of a photo; a clip makes one sticker");
    }
    let background =
        parse_color(&args.background).map_err(|e| anyhow::anyhow!("--background: {e}"))?;
    let outline = match &args.outline {
        Some(c) => match parse_color(c).map_err(|e| anyhow::anyhow!("--outline: {e}"))? {
            Some(colour) => Some((colour, (args.size as f32 / 64.0).max(2.0))),
            None => None,
        },
        None => None,
    };
    let size = if preset.is_some() { 512 } else { args.size };
    let look = Look {
        background,
        outline: outline.map(|(c, w)| (c, w * size as f32 / args.size as f32)),
    };
    if let Some(p) = preset {
        sticker::ffenc::check_encoder(p, &args.output)?;
        if background.is_some() || args.keep_background {
            errln!(
                "note: {} stickers are meant to be transparent; writing the background you asked for",
                Preset::NAMES[p as usize]
            );
        }
    }

    // Checked before the slow part (tracking, stylizing); written at the end.
    let guard = crate::outputs::guard(false);
    if let Input::Photo(p) | Input::Clip(p) = &input {
        guard.add_input_path(p);
    }
    let extension = match preset {
        Some(p) => p.extension(),
        None => set_format(&args).extension(),
    };
    let animations: Vec<Animation> = if args.set {
        Animation::ALL.to_vec()
    } else {
        Animation::from_name(&args.animation).into_iter().collect()
    };
    if animations.is_empty() {
        bail!("unknown animation '{}'", args.animation);
    }
    let targets: Vec<PathBuf> = if args.set {
        animations
            .iter()
            .map(|a| args.output.join(format!("{}.{extension}", a.name())))
            .collect()
    } else {
        vec![args.output.clone()]
    };
    for path in &targets {
        guard.claim(path)?;
    }

    let stylizer = stylizer(&args)?;
    let mut portrait = if args.cartoon {
        Some(PortraitStylizer::load(
            &Locator::from_env().find_or_keep(DEFAULT_PORTRAIT),
            &super::model_session(),
            256,
        )?)
    } else {
        None
    };
    let mut cutout = if args.keep_background {
        None
    } else {
        let smoothing = if matches!(input, Input::Photo(_)) {
            0.0
        } else {
            0.5
        };
        Some(Cutout::load(&SegmentConfig::default(), smoothing)?)
    };
    let mut tracker = FaceTracker::load(&TrackerConfig::default())?;

    // (path, frames, delay, what) for each sticker to write.
    let mut stickers: Vec<(PathBuf, Vec<RgbaImage>, u32, String)> = Vec::new();
    match &input {
        Input::Photo(path) => {
            let photo = image::open(path)
                .with_context(|| format!("cannot read photo {}", path.display()))?
                .to_rgba8();
            let crop = sticker::crop_face(&photo, path, &mut tracker, size)?;
            // The person's outline comes from the photo (a style may repaint edges); the style
            // then shows on the person only.
            let alpha = match cutout.as_mut() {
                Some(c) => Some(c.alpha(&crop.image)?),
                None => None,
            };
            let base = match (stylizer, portrait.as_mut()) {
                (Some((mut s, colors)), _) => stylize(&mut s, colors, &crop.image)?,
                (None, Some(p)) => p.run_with_face(&crop.image, Some(crop.face))?,
                (None, None) => crop.image.clone(),
            };
            for (animation, target) in animations.iter().zip(&targets) {
                let frames = sticker::photo_frames(
                    &base,
                    alpha.as_ref(),
                    &crop.mesh,
                    *animation,
                    args.frames,
                    &look,
                );
                stickers.push((
                    target.clone(),
                    frames,
                    args.delay,
                    animation.name().to_string(),
                ));
            }
        }
        Input::Clip(_) | Input::Camera(_) => {
            let name = input.name();
            let mut source = doppel_pipeline::source::open(
                &name.to_string_lossy(),
                &doppel_pipeline::source::OpenOptions::default(),
            )?;
            let fps = 15.0;
            let taken = clip::read_clip(source.as_mut(), &name, args.seconds, fps)?;
            drop(source);
            let crops = clip::crop_clip(&taken.frames, &name, &mut tracker, size)?;
            let max_len = ((3000 / taken.delay_ms.max(1)) as usize).min(crops.len());
            let chosen = clip::best_loop(&crops, (max_len / 3).max(2), max_len)?;
            let mut looped = chosen.take(&crops);
            if let Some((mut s, colors)) = stylizer {
                // Stylized before the cut-out, whose matte comes from the unstylized frame below.
                let styled: anyhow::Result<Vec<RgbaImage>> =
                    looped.iter().map(|f| stylize(&mut s, colors, f)).collect();
                let styled = styled?;
                let mut out = Vec::with_capacity(looped.len());
                for (plain, painted) in looped.iter().zip(styled) {
                    let mut cut = painted;
                    if let Some(c) = cutout.as_mut() {
                        sticker::cutout::apply_alpha(&mut cut, &c.alpha(plain)?);
                    }
                    out.push(sticker::cutout::compose(&cut, &look));
                }
                looped = out;
            } else {
                looped = sticker::clip_frames(&looped, cutout.as_mut(), &look)?;
            }
            let what = format!(
                "clip loop of {} frames{}, wrap difference {:.1} (median step {:.1})",
                chosen.len,
                if chosen.boomerang {
                    " played forward and back"
                } else {
                    ""
                },
                chosen.seam,
                chosen.step
            );
            stickers.push((args.output.clone(), looped, taken.delay_ms, what));
        }
    }

    for (path, frames, delay, what) in stickers {
        let (bytes, detail) = match preset {
            Some(p) => {
                let encoded = sticker::encode_preset(&path, &frames, delay, p)?;
                let detail = format!(
                    "{} at quality {}, {} frames",
                    Preset::NAMES[p as usize],
                    encoded.quality,
                    encoded.frames
                );
                (encoded.bytes, detail)
            }
            None => {
                let format = set_format(&args);
                let bytes = sticker::encode_animation(&path, &frames, delay, format)?;
                (bytes, format!("{} frames", frames.len()))
            }
        };
        guard.write_claimed(&path, &bytes)?;
        outln!(
            "wrote {} ({what}; {detail} of {size}x{size}, {delay} ms each, {} KB, loops forever) in {:.1} s",
            shown(&path),
            bytes.len().div_ceil(1024),
            started.elapsed().as_secs_f32()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The stylizer and colour choice that `--skill` or `--style` ask for; `None` for neither.
fn stylizer(args: &StickerArgs) -> anyhow::Result<Option<(Stylizer, Colors)>> {
    let (style, colors) = match (&args.skill, args.style) {
        (Some(name), _) => {
            let listing = SkillLibrary::default().list()?;
            super::skills::warn_skipped(&listing);
            let skill = listing.find(name)?;
            (skill.style()?, skill.colors.unwrap_or_default())
        }
        (None, Some(index)) => (Style::Weights(StyleWeights::one(index)?), Colors::Style),
        (None, None) => return Ok(None),
    };
    let mut stylizer = Stylizer::new(StylizerConfig::default());
    stylizer.set_style(&style)?;
    Ok(Some((stylizer, colors)))
}

fn stylize(
    stylizer: &mut Stylizer,
    colors: Colors,
    image: &RgbaImage,
) -> anyhow::Result<RgbaImage> {
    let mut styled = stylizer.run(image)?;
    if colors == Colors::Keep {
        keep_colors(image, &mut styled)?;
    }
    // The model's output has no alpha of its own: the crop's is what counts.
    for (s, p) in styled.pixels_mut().zip(image.pixels()) {
        s[3] = p[3];
    }
    Ok(styled)
}

/// The file format without a preset: `--format`, else the output's extension (GIF for a set or an
/// unknown one).
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

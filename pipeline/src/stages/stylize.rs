//! `stylize` — redraws each frame in a learned style (a "generative avatar" look): one of 26 built-in
//! styles or a blend of them (`multistyle26.onnx`), the style of any picture (`arbitrary_predict` +
//! `arbitrary_transform_dyn`), or a saved skill.
//!
//! Inputs: any RGBA frame. Outputs: the frame redrawn, same size, alpha kept (resized with the
//! colour from the working size); with `backend=gpu` the frame stays on the GPU; meta unchanged (faces
//! tracked before stay valid: the style keeps the geometry).
//! Behaviour: the model runs at a working resolution (`size`: the shorter side, each side a multiple
//! of 4), and the result is brought back to frame size by a bilinear resize on the GPU
//! (`shaders/resample.wgsl`; `backend=cpu` for the CPU reference), so live use stays real-time on a
//! CPU; `full=true` runs the model at frame size instead (offline quality). For video, `stability`
//! blends each result with the previous one where the input did not change (see
//! [`crate::style::temporal`]), which removes most of the flicker of per-frame stylization.
//! Switching style or skill between frames ([`Stylize::set_style`], [`Stylize::set_skill`]) keeps the
//! sessions: only a new model kind builds one ([`Stylize::session_builds`]).
//! Options (exactly one of the first four):
//! - `style` = 0..25: one built-in style.
//! - `blend` = `3:0.5,19:0.5`: built-in styles mixed; weights are normalised to sum to 1.
//! - `image` = PATH: the style of a picture (its style vector is cached on disk by content).
//! - `skill` = NAME: a saved skill (`doppel skills list`).
//! - `model` = portrait | PATH: an image base model run as it is (`portrait`: `models/portrait_toon.onnx`,
//!   a fast cartoon look that keeps the person, distilled from CartoonGAN Shinkai); with `skill=`
//!   an adapter skill (e.g. `paprika`) over it. Switching among its skills keeps its one session.
//! - `size` (256): working resolution, shorter side in pixels, 32..=2048 (never above the frame's).
//! - `full` (false): run at frame size (offline quality, slower).
//! - `colors` = style | keep (the skill's choice, else style): the style's palette, or the frame's own
//!   colours under the style's strokes and shading (see [`crate::style::colors`]).
//! - `stability` (0.8): 0 = off; up to 1 = hold still regions longest.
//! - `backend` = gpu | cpu: where the result is resized back to frame size.
//! - `workers` (2 in a live run on 2 or more cores, else 1): stylizers drawing frames side by side
//!   ([`crate::style::pool`]); the first keeps `threads`, the others one intra-op thread each, and
//!   a frame goes to the first idle one, so a frame that finds the others idle runs as fast as with
//!   one. Output identical to one worker (same frames, same order); more frames out when the
//!   source is faster than one stylizer, at some latency (README, "Latency").
//! - `threads` (cores), `skills` (an extra skills folder searched first), `cache` (style-vector
//!   folder), `multistyle`, `predict`, `transform` (model files).
//!
//! Example: `doppel process in.mp4 -o out.mp4 --stages stylize:style=12:size=360`

use std::collections::VecDeque;

use fast_image_resize::Resizer;
use image::RgbaImage;

use super::{BuildContext, StageEntry};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::gpu::resample::{resize_bilinear, GpuResample};
use crate::gpu::GpuImage;
use crate::graph::Inbox;
use crate::imageops::{resize_rgba, Filter};
use crate::options::StageOptions;
use crate::options::{OptKind, OptSpec};
use crate::stage::{Contract, Mode, Pipelined, Stage, StageCommand, StageDoc};
use crate::style::colors::{keep_colors, Colors};
use crate::style::pool::{Styled, StylizerPool};
use crate::style::{
    weights, Skill, SkillKind, SkillLibrary, Stabilizer, Style, StyleWeights, Stylizer,
    StylizerConfig, DEFAULT_MULTISTYLE, DEFAULT_PORTRAIT_BASE, DEFAULT_PREDICT, DEFAULT_TRANSFORM,
    SIDE_MULTIPLE,
};

const STYLE: OptSpec = OptSpec {
    name: "style",
    kind: OptKind::OptU32 {
        min: 0,
        max: weights::NUM_STYLES as u32 - 1,
        absent: "",
    },
    help: "built-in style",
};
const BLEND: OptSpec = OptSpec {
    name: "blend",
    kind: OptKind::Text { default: "" },
    help: "built-in styles mixed, index:weight pairs: 3:0.5,19:0.5 (normalised)",
};
const IMAGE: OptSpec = OptSpec {
    name: "image",
    kind: OptKind::Path { default: None },
    help: "a picture whose style to use (vector cached by content)",
};
const SKILL: OptSpec = OptSpec {
    name: "skill",
    kind: OptKind::Text { default: "" },
    help: "a saved skill by name (doppel skills list)",
};
const MODEL: OptSpec = OptSpec {
    name: "model",
    kind: OptKind::Text { default: "" },
    help: "an image base model as it is: portrait (models/portrait_toon.onnx) or a PATH; with skill= an adapter skill over it",
};
const SIZE: OptSpec = OptSpec {
    name: "size",
    kind: OptKind::U32 {
        default: 256,
        min: 32,
        max: 2048,
    },
    help: "working resolution: shorter side in pixels",
};
const FULL: OptSpec = OptSpec {
    name: "full",
    kind: OptKind::Bool(false),
    help: "run the model at frame size (offline quality)",
};
const COLORS: OptSpec = OptSpec {
    name: "colors",
    kind: OptKind::OptChoice {
        choices: &Colors::NAMES,
        absent: "the skill's, else style",
    },
    help: "style (the style's palette) or keep (the frame's colours under the style's strokes)",
};
const STABILITY: OptSpec = OptSpec {
    name: "stability",
    kind: OptKind::F32 {
        default: 0.8,
        min: 0.0,
        max: 1.0,
    },
    help: "temporal smoothing of still regions (0 = off)",
};
const BACKEND: OptSpec = OptSpec {
    name: "backend",
    kind: OptKind::Choice {
        choices: &["gpu", "cpu"],
        default: "gpu",
    },
    help: "where the result is resized back to frame size: gpu (wgpu) or cpu (reference)",
};
use crate::options::MODEL_PROVIDER as PROVIDER;
use crate::options::MODEL_THREADS as THREADS;
const WORKERS: OptSpec = OptSpec {
    name: "workers",
    kind: OptKind::OptU32 {
        min: 1,
        max: 8,
        absent: "2 in a live run on 2 or more cores, else 1",
    },
    help:
        "model workers stylizing frames side by side (the first with threads=, the others one thread each unless it is given)",
};
const SKILLS: OptSpec = OptSpec {
    name: "skills",
    kind: OptKind::Path { default: None },
    help: "extra skills folder, searched before the user's and the shipped ones",
};
const CACHE: OptSpec = OptSpec {
    name: "cache",
    kind: OptKind::Path { default: None },
    help: "folder for cached style vectors of pictures (default: $XDG_CACHE_HOME/doppel/styles)",
};
const MULTISTYLE: OptSpec = OptSpec {
    name: "multistyle",
    kind: OptKind::Path {
        default: Some(DEFAULT_MULTISTYLE),
    },
    help: "26-style model file",
};
const PREDICT: OptSpec = OptSpec {
    name: "predict",
    kind: OptKind::Path {
        default: Some(DEFAULT_PREDICT),
    },
    help: "style encoder model file",
};
const TRANSFORM: OptSpec = OptSpec {
    name: "transform",
    kind: OptKind::Path {
        default: Some(DEFAULT_TRANSFORM),
    },
    help: "arbitrary-style model file",
};

pub const DOC: StageDoc = StageDoc {
    name: "stylize",
    summary: "redraws frames in a learned style: 26 built-in styles, blends, any picture's style, or a saved skill",
    options: &[
        STYLE, BLEND, IMAGE, SKILL, MODEL, SIZE, FULL, COLORS, STABILITY, BACKEND, THREADS, WORKERS, PROVIDER, SKILLS, CACHE,
        MULTISTYLE, PREDICT, TRANSFORM,
    ],
    example: "stylize:skill=toon:size=256",
    contract: |_| Ok(Contract::NONE),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(Stylize::from_options(options, ctx)?))
    },
};

/// Where the result is resized back to frame size.
enum Backend {
    Gpu(Box<GpuResample>),
    Cpu,
}

/// The stylize stage.
pub struct Stylize {
    stylizer: Stylizer,
    library: SkillLibrary,
    /// Whose colours the output shows, and whether the `colors` option fixed it (else each skill
    /// brings its own).
    colors: Colors,
    colors_option: Option<Colors>,
    /// Working resolution (shorter side); `None`: frame size.
    size: Option<u32>,
    stabilizer: Stabilizer,
    backend: Backend,
    resizer: Resizer,
    /// What `Next` (key N in `doppel live`) moves on from: the skill or built-in style shown now.
    current: Current,
    /// `model=`: the base model; `Next` then goes round it and its adapter skills only.
    base: Option<std::path::PathBuf>,
    /// Live commands (Next), when built for a live run.
    inbox: Option<Inbox>,
    /// With `workers` > 1: the model workers, and the frames they have, oldest first.
    pool: Option<StylizerPool>,
    pending: VecDeque<Pending>,
    /// The next frame started is the first of a new style (see [`Stylize::set_style`]).
    cut_next: bool,
}

/// A frame whose small copy a worker is stylizing.
struct Pending {
    frame: Frame,
    styled: crossbeam_channel::Receiver<Styled>,
    /// The first frame of a new style: temporal smoothing starts again here.
    cut: bool,
}

/// The style being shown, for `Next`.
#[derive(Clone, Debug, PartialEq)]
enum Current {
    Skill(String),
    Builtin(usize),
    /// A blend or a picture's style: `Next` goes to the first skill (or built-in style 0).
    Other,
    /// A base model as it is (`model=`).
    Model,
}

impl Stylize {
    /// Reads the options, resolves the style and builds its session. Fails before any frame.
    ///
    /// # Errors
    /// [`Error::Option`] for a bad value, an unknown skill or style index (listing the valid ones) or
    /// an unreadable style picture; [`Error::Model`] / [`Error::Runtime`] from the models;
    /// [`Error::Gpu`] with `backend=gpu` and no usable adapter.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        // Which models a style needs is known only when it loads; a default model that the locator
        // does not find stays as written, and loading it (if needed) names it.
        let model = |spec: &OptSpec| -> Result<std::path::PathBuf> {
            Ok(match (options.opt_path(spec)?, spec.kind) {
                (Some(given), _) => given,
                (None, OptKind::Path { default: Some(d) }) => ctx.locator().find_or_keep(d),
                (None, _) => std::path::PathBuf::new(),
            })
        };
        let threads = options.opt_u32(&THREADS)?.map(|t| t as usize);
        let config = StylizerConfig {
            multistyle_model: model(&MULTISTYLE)?,
            predict_model: model(&PREDICT)?,
            transform_model: model(&TRANSFORM)?,
            session: ctx.session(options, threads)?,
            cache_dir: Some(
                options
                    .opt_path(&CACHE)?
                    .unwrap_or_else(crate::style::cache::default_dir),
            ),
        };
        let mut dirs = Vec::new();
        if let Some(extra) = options.opt_path(&SKILLS)? {
            dirs.push(extra);
        }
        dirs.extend(SkillLibrary::default().dirs().iter().cloned());
        let library = SkillLibrary::new(dirs);
        let size = options.u32(&SIZE)?;
        let full = options.bool(&FULL)?;
        let stability = options.f32(&STABILITY)?;
        let colors_option = options.opt_choice(&COLORS)?.and_then(Colors::from_name);
        let mut colors = colors_option.unwrap_or_default();
        let backend = match options.choice(&BACKEND)? {
            "cpu" => Backend::Cpu,
            _ => Backend::Gpu(Box::new(ctx.gpu().and_then(GpuResample::new).map_err(
                |e| match e {
                    Error::Gpu(m) => Error::Gpu(format!(
                        "stage 'stylize': {m} (or resize on the CPU: stylize:backend=cpu)"
                    )),
                    other => other,
                },
            )?)),
        };
        let mut stylizer = Stylizer::new(config);
        let mut current = Current::Other;
        let given: Vec<&str> = [STYLE, BLEND, IMAGE, SKILL]
            .iter()
            .filter(|spec| options.given(spec))
            .map(|spec| spec.name)
            .collect();
        // `model=`: a base model on its own, or the base an adapter skill runs over.
        let base = match options.text(&MODEL)? {
            "" => None,
            "portrait" => Some(ctx.locator().find_or_keep(DEFAULT_PORTRAIT_BASE)),
            path => Some(std::path::PathBuf::from(path)),
        };
        if let (Some(_), [first, ..]) = (&base, given.as_slice()) {
            if *first != "skill" {
                return Err(options.error(
                    first,
                    "model= runs a base model; give it alone or with skill= (an adapter skill over it)",
                ));
            }
        }
        let style = match given.as_slice() {
            [] if base.is_some() => {
                let model = base.clone().unwrap_or_default();
                current = Current::Model;
                Style::Model(model)
            }
            ["style"] => {
                let index = options.opt_u32(&STYLE)?.unwrap_or(0) as usize;
                current = Current::Builtin(index);
                Style::Weights(
                    StyleWeights::one(index).map_err(|e| options.error("style", e.to_string()))?,
                )
            }
            ["blend"] => Style::Weights(
                StyleWeights::parse(options.text(&BLEND)?)
                    .map_err(|e| options.error("blend", e.to_string()))?,
            ),
            ["image"] => {
                let file = options.opt_path(&IMAGE)?.unwrap_or_default();
                Style::Vector(
                    stylizer
                        .style_vector_of_file(&file)
                        .map_err(|e| options.error("image", e.to_string()))?,
                )
            }
            ["skill"] => {
                let name = options.text(&SKILL)?;
                let skill = library
                    .find(name)
                    .map_err(|e| options.error("skill", e.to_string()))?;
                colors = colors_option.or(skill.colors).unwrap_or_default();
                current = Current::Skill(skill.name.clone());
                match (skill.style()?, &base) {
                    (style, None) => style,
                    (Style::Adapter { adapter, .. }, Some(model)) => Style::Adapter {
                        model: model.clone(),
                        adapter,
                    },
                    (other, Some(_)) => {
                        return Err(options.error(
                            "skill",
                            format!(
                                "skill '{name}' is a {} skill; with model= give an adapter skill",
                                other.describe()
                            ),
                        ))
                    }
                }
            }
            [] => {
                return Err(options.error(
                    "style",
                    format!(
                        "no style given; give one of style=0..{}, blend=3:0.5,19:0.5, image=PATH or skill=NAME",
                        weights::NUM_STYLES - 1
                    ),
                ))
            }
            several => {
                return Err(options.error(
                    several[1],
                    format!(
                        "give only one of style, blend, image and skill (got {})",
                        several.join(" and ")
                    ),
                ))
            }
        };
        let live_default = ctx.mode == Mode::Live
            && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
        let workers = options
            .opt_u32(&WORKERS)?
            .map_or(if live_default { 2 } else { 1 }, |n| n as usize);
        let pool = if workers > 1 {
            // The first worker as the stage would be alone (a frame that finds the others idle
            // runs as fast as before), the others one intra-op thread each; none busy-waits.
            let mut first = stylizer.config().clone();
            first.session.spin = false;
            let mut rest = first.clone();
            rest.session.threads = threads.or(Some(1));
            let mut configs = vec![first];
            configs.resize(workers, rest);
            // The workers hold the style's sessions; the stage's own stylizer keeps only what
            // it builds for `image=` and skills (the style-vector network).
            Some(StylizerPool::new(&configs, &style)?)
        } else {
            stylizer.set_style(&style)?;
            None
        };
        Ok(Self {
            stylizer,
            library,
            colors,
            colors_option,
            size: (!full).then_some(size),
            stabilizer: Stabilizer::with_strength(stability),
            backend,
            resizer: Resizer::new(),
            current,
            base,
            inbox: ctx.inbox(DOC.name, &[StageCommand::Next]),
            pool,
            pending: VecDeque::new(),
            cut_next: false,
        })
    }

    /// Moves on to the next skill (by name, wrapping), or to the next built-in style when there
    /// are no skills; returns what the user sees. Never loads a model the run did not have.
    ///
    /// # Errors
    /// As [`Stylize::set_skill`].
    pub fn next_style(&mut self) -> Result<String> {
        if let Some(base) = self.base.clone() {
            return self.next_over_base(&base);
        }
        let skills = self.library.list()?.skills;
        if skills.is_empty() {
            let next = match self.current {
                Current::Builtin(i) => (i + 1) % weights::NUM_STYLES,
                _ => 0,
            };
            self.set_style(&Style::Weights(StyleWeights::one(next)?))?;
            self.current = Current::Builtin(next);
            return Ok(format!("style {next} of 0..{}", weights::NUM_STYLES - 1));
        }
        let at = match &self.current {
            Current::Skill(name) => skills.iter().position(|s| &s.name == name),
            _ => None,
        };
        let next = at.map_or(0, |i| (i + 1) % skills.len());
        let skill = &skills[next];
        self.set_skill(skill)?;
        self.current = Current::Skill(skill.name.clone());
        Ok(format!(
            "skill '{}' ({} of {})",
            skill.name,
            next + 1,
            skills.len()
        ))
    }

    /// `Next` with `model=`: the base as it is, then each adapter skill over the same model file,
    /// round again; one session throughout.
    fn next_over_base(&mut self, base: &std::path::Path) -> Result<String> {
        let same = |a: &std::path::Path| {
            std::fs::canonicalize(a).ok() == std::fs::canonicalize(base).ok() || a == base
        };
        let skills: Vec<Skill> = self
            .library
            .list()?
            .skills
            .into_iter()
            .filter(|s| matches!(&s.kind, SkillKind::Adapter { model, .. } if same(model)))
            .collect();
        let at = match &self.current {
            Current::Skill(name) => skills.iter().position(|s| &s.name == name).map(|i| i + 1),
            _ => Some(0),
        };
        let next = at.map_or(0, |i| (i + 1) % (skills.len() + 1));
        if next == 0 {
            self.set_style(&Style::Model(base.to_path_buf()))?;
            self.current = Current::Model;
            return Ok(format!("model {} as it is", base.display()));
        }
        let skill = &skills[next - 1];
        self.set_skill(skill)?;
        self.current = Current::Skill(skill.name.clone());
        Ok(format!(
            "skill '{}' ({} of {}) over {}",
            skill.name,
            next,
            skills.len(),
            base.display()
        ))
    }

    /// Switches to `style` for the next frames; keeps the sessions already built.
    ///
    /// # Errors
    /// As [`Stylizer::set_style`].
    pub fn set_style(&mut self, style: &Style) -> Result<()> {
        if let Some(pool) = &mut self.pool {
            pool.set_style(style)?;
            // frames in flight keep the old style: the cut comes with the next one started
            self.cut_next = true;
            return Ok(());
        }
        self.stylizer.set_style(style)?;
        // A new style is a cut: do not blend across it.
        self.stabilizer.reset();
        Ok(())
    }

    /// Switches to a skill (see [`Stylize::set_style`]).
    ///
    /// # Errors
    /// As [`Skill::style`] and [`Stylizer::set_style`].
    pub fn set_skill(&mut self, skill: &Skill) -> Result<()> {
        let style = match (skill.style()?, &self.base) {
            // With `model=`, an adapter skill runs over the stage's base.
            (Style::Adapter { adapter, .. }, Some(base)) => Style::Adapter {
                model: base.clone(),
                adapter,
            },
            (style, _) => style,
        };
        self.set_style(&style)?;
        self.colors = self.colors_option.or(skill.colors).unwrap_or_default();
        Ok(())
    }

    /// Whose colours the output shows now.
    pub fn colors(&self) -> Colors {
        self.colors
    }

    /// Switches to the skill called `name` from the stage's skill folders.
    ///
    /// # Errors
    /// [`Error::Spec`] listing the valid names for an unknown one.
    pub fn set_skill_named(&mut self, name: &str) -> Result<()> {
        let skill = self.library.find(name)?;
        self.set_skill(&skill)
    }

    /// Sessions built so far on the stage's thread (see [`Stylizer::session_builds`]; with
    /// `workers` > 1 each worker builds its own).
    pub fn session_builds(&self) -> u64 {
        self.stylizer.session_builds()
    }

    /// The working size for a `w` x `h` frame: shorter side `size` (never above the frame's), each
    /// side rounded to a multiple of 4.
    pub fn working_size(&self, w: u32, h: u32) -> (u32, u32) {
        let round = |v: f64| {
            let m = f64::from(SIDE_MULTIPLE);
            ((v / m).round() * m).max(m) as u32
        };
        match self.size {
            None => (w, h),
            Some(size) => {
                let k = (f64::from(size) / f64::from(w.min(h).max(1))).min(1.0);
                (round(f64::from(w) * k), round(f64::from(h) * k))
            }
        }
    }

    /// Stylizes `image` at the working size: the result at that size, its alpha the frame's
    /// (resized with it).
    fn styled_small(&mut self, image: &RgbaImage) -> Result<RgbaImage> {
        let small = self.small(image)?;
        let styled = self.stylizer.run(&small)?;
        self.complete(small, styled)
    }

    /// `image` at the working size: what the model gets.
    fn small(&mut self, image: &RgbaImage) -> Result<RgbaImage> {
        let (w, h) = image.dimensions();
        let (ww, wh) = self.working_size(w, h);
        if (ww, wh) == (w, h) {
            return Ok(image.clone());
        }
        resize_rgba(&mut self.resizer, image, ww, wh, Filter::Bilinear)
    }

    /// The model's output `styled` for `small`, finished in frame order: colours, temporal
    /// smoothing, alpha.
    fn complete(&mut self, small: RgbaImage, mut styled: RgbaImage) -> Result<RgbaImage> {
        if self.colors == Colors::Keep {
            keep_colors(&small, &mut styled)?;
        }
        self.stabilizer.apply(&small, &mut styled);
        for (dst, src) in styled.pixels_mut().zip(small.pixels()) {
            dst[3] = src[3];
        }
        crate::bufpool::recycle(small.into_raw());
        Ok(styled)
    }

    /// Stylizes one image at the working size and brings it back to its size, on the CPU image
    /// (through the GPU with `backend=gpu`). The stage itself leaves a GPU result on the GPU.
    ///
    /// # Errors
    /// Inference, resize and GPU errors.
    pub fn apply(&mut self, image: &RgbaImage) -> Result<RgbaImage> {
        let (w, h) = image.dimensions();
        let styled = self.styled_small(image)?;
        if styled.dimensions() == (w, h) {
            return Ok(styled);
        }
        let mut out = crate::bufpool::image(w, h);
        match &mut self.backend {
            Backend::Gpu(gpu) => gpu.run(&styled, &mut out)?,
            Backend::Cpu => resize_bilinear(&styled, &mut out)?,
        }
        crate::bufpool::recycle(styled.into_raw());
        Ok(out)
    }
}

impl Stage for Stylize {
    fn name(&self) -> &str {
        DOC.name
    }

    /// With workers, one frame through them (the graph uses [`Pipelined`] instead).
    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        if let Some(finished) = self.pool.as_ref().map(|pool| pool.finished().clone()) {
            self.start(frame)?;
            loop {
                if let Some(done) = self.try_finish() {
                    return done;
                }
                finished
                    .recv()
                    .map_err(|_| Error::Internal("a stylize worker stopped".into()))?;
            }
        }
        self.answer_commands();
        let styled = self.styled_small(frame.pixels.image()?)?;
        self.put_back(frame, styled)
    }

    fn pipelined(&mut self) -> Option<&mut dyn Pipelined> {
        if self.pool.is_some() {
            Some(self)
        } else {
            None
        }
    }
}

impl Pipelined for Stylize {
    fn depth(&self) -> usize {
        self.pool.as_ref().map_or(1, StylizerPool::len)
    }

    fn start(&mut self, mut frame: Frame) -> Result<()> {
        self.answer_commands();
        let small = self.small(frame.pixels.image()?)?;
        let Some(pool) = &mut self.pool else {
            return Err(Error::Internal("stylize: started without workers".into()));
        };
        let styled = pool.submit(small)?;
        self.pending.push_back(Pending {
            frame,
            styled,
            cut: std::mem::take(&mut self.cut_next),
        });
        Ok(())
    }

    fn finished(&self) -> crossbeam_channel::Receiver<()> {
        match &self.pool {
            Some(pool) => pool.finished().clone(),
            None => crossbeam_channel::never(),
        }
    }

    fn try_finish(&mut self) -> Option<Result<Frame>> {
        let front = self.pending.front()?;
        let (small, styled) = match front.styled.try_recv() {
            Ok(done) => done,
            Err(crossbeam_channel::TryRecvError::Empty) => return None,
            Err(crossbeam_channel::TryRecvError::Disconnected) => {
                self.pending.pop_front();
                return Some(Err(Error::Internal("a stylize worker stopped".into())));
            }
        };
        let Pending { frame, cut, .. } = self.pending.pop_front()?;
        if cut {
            self.stabilizer.reset();
        }
        Some(
            styled
                .and_then(|styled| self.complete(small, styled))
                .and_then(|styled| self.put_back(frame, styled)),
        )
    }
}

impl Stylize {
    /// Answers the live commands waiting (Next).
    fn answer_commands(&mut self) {
        // Taken out for the call: answering needs the whole stage.
        if let Some(inbox) = self.inbox.take() {
            inbox.handle(|_next| match self.next_style() {
                Ok(shown) => shown,
                Err(e) => format!("cannot switch style: {e}"),
            });
            self.inbox = Some(inbox);
        }
    }

    /// `frame` with its pixels replaced by `styled` brought to the frame's size (left on the GPU
    /// with `backend=gpu`, for the next stage or the window; read back only where a CPU consumer
    /// asks for it).
    fn put_back(&mut self, mut frame: Frame, styled: RgbaImage) -> Result<Frame> {
        let size = frame.pixels.dimensions();
        if styled.dimensions() == size {
            frame.pixels.set_image(styled);
            return Ok(frame);
        }
        match &mut self.backend {
            // The small result goes up; the frame-size one stays on the GPU for the next stage
            // or the window (read back only where a CPU consumer asks for it).
            Backend::Gpu(gpu) => {
                let small = GpuImage::upload(gpu.context(), &styled)?;
                crate::bufpool::recycle(styled.into_raw());
                frame.pixels.set_texture(gpu.apply(&small, size)?);
            }
            Backend::Cpu => {
                let mut out = crate::bufpool::image(size.0, size.1);
                resize_bilinear(&styled, &mut out)?;
                crate::bufpool::recycle(styled.into_raw());
                frame.pixels.set_image(out);
            }
        }
        Ok(frame)
    }
}

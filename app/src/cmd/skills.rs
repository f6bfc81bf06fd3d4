//! `doppel skills`: named styles. `list` shows them; `add NAME --from IMAGE` saves the style of a
//! picture (its 100-value style vector), `--blend 3:0.5,19:0.5` or `--style 7` a built-in blend,
//! `--adapter FILE --model BASE.onnx` adapter weights for a base model with adapter inputs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use doppel_pipeline::infer::{Adapter, Model, SessionConfig};
use doppel_pipeline::style::{
    skill, Colors, Skill, SkillKind, SkillLibrary, SkillListing, StyleWeights, Stylizer,
    StylizerConfig,
};

#[derive(Args)]
pub struct SkillsArgs {
    #[command(subcommand)]
    pub command: SkillsCommand,
}

#[derive(Subcommand)]
pub enum SkillsCommand {
    /// List the skills (the user's folder first, then the shipped ones).
    List {
        /// Also search this folder (first).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Save a new skill.
    Add(AddArgs),
}

#[derive(Args)]
pub struct AddArgs {
    /// Skill name: letters, digits, '-' and '_'.
    pub name: String,
    /// A picture whose style the skill holds.
    #[arg(long, conflicts_with_all = ["blend", "style", "adapter"])]
    pub from: Option<PathBuf>,
    /// Built-in styles mixed, index:weight pairs: 3:0.5,19:0.5 (normalised).
    #[arg(long, conflicts_with_all = ["style", "adapter"])]
    pub blend: Option<String>,
    /// One built-in style, 0..=25.
    #[arg(long, conflicts_with = "adapter")]
    pub style: Option<usize>,
    /// An ONNX Runtime adapter file (.onnx_adapter) for --model.
    #[arg(long, requires = "model")]
    pub adapter: Option<PathBuf>,
    /// The base model the adapter belongs to.
    #[arg(long, requires = "adapter")]
    pub model: Option<PathBuf>,
    /// Folder to save into (default: the user's skills folder).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// A note saved with the skill (where its style came from, its licence).
    #[arg(long, default_value = "")]
    pub note: String,
    /// Whose colours the stylize stage shows with this skill: style (the style's palette) or keep
    /// (the frame's colours under the style's strokes and shading).
    #[arg(long, value_parser = ["style", "keep"])]
    pub colors: Option<String>,
    /// Replace a skill of the same name in that folder.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: SkillsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        SkillsCommand::List { dir } => list(dir),
        SkillsCommand::Add(add) => add_skill(add),
    }
}

fn library(extra: Option<PathBuf>) -> SkillLibrary {
    let mut dirs: Vec<PathBuf> = extra.into_iter().collect();
    dirs.extend(SkillLibrary::default().dirs().iter().cloned());
    SkillLibrary::new(dirs)
}

fn list(dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let lib = library(dir);
    let listing = lib.list()?;
    warn_skipped(&listing);
    let skills = listing.skills;
    if skills.is_empty() {
        let dirs: Vec<String> = lib.dirs().iter().map(|d| d.display().to_string()).collect();
        outln!(
            "no skills in {}; add one with `doppel skills add NAME --from PICTURE`",
            dirs.join(", ")
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    for s in &skills {
        let place = s
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        outln!(
            "{:<16} {:<8} {}  [{}]",
            s.name,
            s.kind.name(),
            s.summary(),
            place
        )?;
        if !s.note.is_empty() {
            outln!("{:<16} {}", "", s.note)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One warning line per skill file that was skipped, naming it and what is wrong.
pub fn warn_skipped(listing: &SkillListing) {
    for skipped in &listing.skipped {
        errln!("warning: skipping skill file: {}", skipped.error);
    }
}

fn add_skill(args: AddArgs) -> anyhow::Result<ExitCode> {
    if !skill::is_valid_name(&args.name) {
        bail!(
            "'{}' is not a valid skill name; use letters, digits, '-' and '_'",
            args.name
        );
    }
    let kind = if let Some(picture) = &args.from {
        let mut stylizer = Stylizer::new(StylizerConfig::default());
        let vector = stylizer
            .style_vector_of_file(picture)
            .with_context(|| format!("style of {}", picture.display()))?;
        SkillKind::Vector(vector)
    } else if let Some(blend) = &args.blend {
        SkillKind::Weights(StyleWeights::parse(blend)?)
    } else if let Some(index) = args.style {
        SkillKind::Weights(StyleWeights::one(index)?)
    } else if let (Some(adapter), Some(model)) = (&args.adapter, &args.model) {
        // Check both now, so a broken skill is refused when it is made, not when it is used.
        Adapter::from_file(adapter)?;
        let base = Model::load(model, &SessionConfig::default())?;
        if base.parameters().is_empty() {
            bail!(
                "model {} has no adapter inputs (initializers that are also inputs); an adapter cannot change it",
                model.display()
            );
        }
        SkillKind::Adapter {
            adapter: adapter.clone(),
            model: model.clone(),
        }
    } else {
        bail!("say what the skill holds: --from PICTURE, --blend 3:0.5,19:0.5, --style N, or --adapter FILE --model BASE.onnx");
    };
    let skill = Skill {
        name: args.name.clone(),
        note: args.note.clone(),
        kind,
        colors: args.colors.as_deref().and_then(Colors::from_name),
        path: None,
    };
    let dir = args.dir.clone().unwrap_or_else(skill::user_dir);
    let guard = crate::outputs::guard(args.force);
    for input in [&args.from, &args.adapter, &args.model]
        .into_iter()
        .flatten()
    {
        guard.add_input_path(input);
    }
    let path = skill.save_guarded(&dir, &guard)?;
    outln!(
        "saved skill '{}' ({}) to {}",
        skill.name,
        skill.summary(),
        path.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

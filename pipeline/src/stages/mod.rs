//! The stage registry: every stage a pipeline description can name, with its documentation and
//! constructor. Adding a stage = a module here + one entry in [`registry`].

use crate::error::{Error, Result};
use crate::options::StageOptions;
use crate::spec::StageSpec;
use crate::stage::{Mode, Stage, StageDoc};

pub mod avatar;
pub mod blur;
pub mod deglare;
pub mod lowlight;
pub mod onnx;
pub mod overlay;
pub mod passthrough;
pub mod pose;
pub mod resize;
pub mod segment;
pub mod sharpen;
pub mod stylize;
pub mod superres;
pub mod track;

/// What constructors may need beyond their options.
#[derive(Clone, Debug)]
pub struct BuildContext {
    pub mode: Mode,
}

/// A registered stage: its documentation and how to build it.
#[derive(Clone, Copy)]
pub struct StageEntry {
    pub doc: &'static StageDoc,
    pub build: fn(&StageOptions, &BuildContext) -> Result<Box<dyn Stage>>,
}

/// Every stage, in the order `doppel stages` lists them.
pub fn registry() -> Vec<StageEntry> {
    vec![
        passthrough::ENTRY,
        resize::ENTRY,
        blur::ENTRY,
        sharpen::ENTRY,
        onnx::ENTRY,
        track::ENTRY,
        stylize::ENTRY,
        deglare::ENTRY,
        lowlight::ENTRY,
        pose::ENTRY,
        segment::ENTRY,
        overlay::ENTRY,
        superres::ENTRY,
        avatar::ENTRY,
    ]
}

/// Names of all registered stages.
pub fn names() -> Vec<&'static str> {
    registry().iter().map(|e| e.doc.name).collect()
}

/// Looks a stage up by name.
pub fn find(name: &str) -> Result<StageEntry> {
    registry()
        .into_iter()
        .find(|e| e.doc.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            Error::Spec(format!(
                "unknown stage '{name}'; valid stages: {}",
                names().join(", ")
            ))
        })
}

/// Builds every stage of a description, in order. Fails before any frame is processed.
pub fn build_all(specs: &[StageSpec], ctx: &BuildContext) -> Result<Vec<Box<dyn Stage>>> {
    specs
        .iter()
        .map(|spec| {
            let entry = find(&spec.name)?;
            let options = StageOptions::new(entry.doc, &spec.options)?;
            (entry.build)(&options, ctx)
        })
        .collect()
}

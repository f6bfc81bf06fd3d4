//! `passthrough` — hands frames on unchanged. Used to measure the pipeline's own overhead and as a
//! placeholder while composing pipelines.
//!
//! Inputs: any frame. Outputs: the same frame. Options: none.
//! Example: `doppel process in.mp4 -o out.mp4 --stages passthrough,passthrough`

use super::{BuildContext, StageEntry};
use crate::error::Result;
use crate::frame::Frame;
use crate::options::StageOptions;
use crate::stage::{Contract, Stage, StageDoc};

pub const DOC: StageDoc = StageDoc {
    name: "passthrough",
    summary: "hands frames on unchanged (measures pipeline overhead)",
    options: &[],
    example: "passthrough,passthrough",
    contract: |_| Ok(Contract::NONE),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |_: &StageOptions, _: &BuildContext| Ok(Box::new(Passthrough)),
};

/// The identity stage.
pub struct Passthrough;

impl Stage for Passthrough {
    fn name(&self) -> &str {
        DOC.name
    }

    fn process(&mut self, frame: Frame) -> Result<Frame> {
        Ok(frame)
    }
}

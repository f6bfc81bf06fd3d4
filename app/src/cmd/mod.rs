//! One module per subcommand.

pub mod bench;
pub mod devices;
pub mod doctor;
pub mod live;
pub mod process;
pub mod skills;
pub mod stages;
pub mod sticker;
pub mod track;

use doppel_pipeline::graph::RunHandle;
use doppel_pipeline::spec::StageSpec;
use doppel_pipeline::stage::MetaSet;
use doppel_pipeline::stages::{build_all, resolve, BuildContext};
use doppel_pipeline::{Mode, Stage};

/// A pipeline's stage list as built, and its stages.
pub type BuiltStages = (Vec<StageSpec>, Vec<Box<dyn Stage>>);

/// The one way the commands build stages: the library resolves the list (adding the tracking that a
/// stage or a sink in `sinks` needs), builds it, and the notices it returns are shown on stderr.
/// Returns the stage list as built, and the stages.
pub fn build_stages(
    specs: &[StageSpec],
    sinks: &[(&str, MetaSet)],
    mode: Mode,
    run: Option<&RunHandle>,
) -> anyhow::Result<BuiltStages> {
    let resolved = resolve(specs, sinks)?;
    let mut ctx = BuildContext::new(mode);
    if let Some(run) = run {
        ctx = ctx.for_run(run.clone());
    }
    let stages = build_all(&resolved.specs, &ctx)?;
    for notice in resolved.notices.iter().chain(&ctx.take_notices()) {
        errln!("note: {notice}");
    }
    Ok((resolved.specs, stages))
}

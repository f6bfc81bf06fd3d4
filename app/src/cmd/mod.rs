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

use std::sync::OnceLock;

use doppel_pipeline::graph::RunHandle;
use doppel_pipeline::infer::ExecutionProvider;
use doppel_pipeline::spec::StageSpec;
use doppel_pipeline::stage::MetaSet;
use doppel_pipeline::stages::{build_all, resolve, BuildContext};
use doppel_pipeline::{Mode, Stage};

static PROVIDER: OnceLock<ExecutionProvider> = OnceLock::new();

/// Records `--provider`; called once from `main`. Every stage list built after this uses it as the
/// default of the model stages' `provider=`.
pub fn set_provider(provider: ExecutionProvider) {
    let _ = PROVIDER.set(provider);
}

/// ONNX Runtime session settings for a model a command loads itself (not through a stage): the
/// run's `--provider`, default threads.
pub fn model_session() -> doppel_pipeline::infer::SessionConfig {
    doppel_pipeline::infer::SessionConfig {
        provider: PROVIDER.get().cloned().unwrap_or_default(),
        ..Default::default()
    }
}

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
    let mut ctx =
        BuildContext::new(mode).with_provider(PROVIDER.get().cloned().unwrap_or_default());
    if let Some(run) = run {
        ctx = ctx.for_run(run.clone());
    }
    let stages = build_all(&resolved.specs, &ctx)?;
    for notice in resolved.notices.iter().chain(&ctx.take_notices()) {
        errln!("note: {notice}");
    }
    tracing::info!(
        "built {} stage(s): {}",
        resolved.specs.len(),
        resolved
            .specs
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok((resolved.specs, stages))
}

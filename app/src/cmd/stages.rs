//! `doppel stages`: every stage with its options (range and default from each option's spec) and
//! the frame meta it needs and provides.

use doppel_pipeline::options::StageOptions;
use doppel_pipeline::stage::MetaSet;
use doppel_pipeline::stages::registry;

/// `faces (track), bodies (pose)`.
fn meta_list(meta: MetaSet, with_provider: bool) -> String {
    meta.parts()
        .map(|(_, what, by)| {
            if with_provider {
                format!("{what} (from {by})")
            } else {
                what.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run() -> anyhow::Result<()> {
    outln!("Stages (use with --stages name:key=value,name2 ...):\n")?;
    for entry in registry() {
        let doc = entry.doc;
        outln!("{:<12} {}", doc.name, doc.summary)?;
        // The contract with default options (some options change it, e.g. avatar:background=mask).
        let contract = (doc.contract)(&StageOptions::from_pairs(doc.name, &[]))?;
        if !contract.needs.is_empty() {
            outln!("    needs:     {}", meta_list(contract.needs, true))?;
        }
        if !contract.needs_any.is_empty() {
            outln!("    needs one of: {}", meta_list(contract.needs_any, true))?;
        }
        if !contract.provides.is_empty() {
            outln!("    provides:  {}", meta_list(contract.provides, false))?;
        }
        for option in doc.options {
            outln!("    {option}")?;
        }
        outln!("    example: --stages {}\n", doc.example)?;
    }
    Ok(())
}

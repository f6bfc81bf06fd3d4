//! `doppel stages`: every stage with its options and defaults.

use doppel_pipeline::stages::registry;

pub fn run() -> anyhow::Result<()> {
    outln!("Stages (use with --stages name:key=value,name2 ...):\n")?;
    for entry in registry() {
        let doc = entry.doc;
        outln!("{:<12} {}", doc.name, doc.summary)?;
        for option in doc.options {
            let default = if option.default.is_empty() {
                String::new()
            } else {
                format!(" [default: {}]", option.default)
            };
            outln!("    {:<10} {}{}", option.name, option.help, default)?;
        }
        outln!("    example: --stages {}\n", doc.example)?;
    }
    Ok(())
}

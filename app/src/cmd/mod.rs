//! One module per subcommand.

pub mod devices;
pub mod doctor;
pub mod process;
pub mod stages;

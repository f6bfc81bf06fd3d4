//! One module per subcommand.

pub mod bench;
pub mod devices;
pub mod doctor;
pub mod live;
pub mod process;
pub mod stages;

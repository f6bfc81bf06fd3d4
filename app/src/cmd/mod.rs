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

//! One module per subcommand.

pub(crate) mod map;
pub(crate) mod port_emulator;

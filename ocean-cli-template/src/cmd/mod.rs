//! One module per subcommand.

pub(crate) mod dead_letters;
pub(crate) mod defaults;
pub(crate) mod map;
pub(crate) mod new;
pub(crate) mod port_emulator;
pub(crate) mod sail;
pub(crate) mod sign_webhook;
pub(crate) mod validate;

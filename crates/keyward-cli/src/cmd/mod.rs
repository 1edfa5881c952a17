//! One module per group of commands, each a thin layer over the `keyward` library: parse the arguments into the
//! library's types (human units through `keyward::units`), call the library, print text or JSON.

pub(crate) mod agent;
pub(crate) mod erc7715;
pub(crate) mod exec;
pub(crate) mod offline;
pub(crate) mod owner;
pub(crate) mod read;
pub(crate) mod watch;

#![doc = include_str!("../README.md")]

pub mod bindings;
pub mod encode;
mod error;
pub mod key;
pub mod settings;

pub use error::Error;
pub use key::{KeyExt, ROOT_KEY_HASH};
pub use settings::{Settings, SettingsBuilder};

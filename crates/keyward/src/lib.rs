#![doc = include_str!("../README.md")]

mod error;
pub mod settings;

pub use error::Error;
pub use settings::{Settings, SettingsBuilder};

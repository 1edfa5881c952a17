//! Integration tests of the keyward crate (one binary, a module per area).

mod differential;

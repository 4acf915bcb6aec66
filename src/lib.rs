//! stowage: checks that every container image a bootc/MicroShift device will run is carried
//! inside its OS image, in a form CRI-O will find.
//!
//! Input never panics: outside tests, `unwrap`, `expect` and `panic!` are refused by clippy
//! (the few that guard the program's own constants say why with an `allow`). Indexing was
//! reviewed site by site (README "Limits"), and the fuzz targets of `fuzz/` exercise it.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod cli;
pub mod config;
pub mod finding;
pub mod gather;
pub mod image;
pub mod inventory;
pub mod pin;
pub mod reference;
pub mod report;
pub mod resolve;
pub mod rules;
pub mod source;
pub mod text;
pub mod upgrade;

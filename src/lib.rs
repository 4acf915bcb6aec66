//! stowage: checks that every container image a bootc/MicroShift device will run is carried
//! inside its OS image, in a form CRI-O will find.

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

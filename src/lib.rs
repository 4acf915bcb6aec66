//! stowage: checks that every container image a bootc/MicroShift device will run is carried
//! inside its OS image, in a form CRI-O will find.

pub mod audit;
pub mod cli;
pub mod config;
pub mod facts;
pub mod finding;
pub mod image;
pub mod inventory;
pub mod location;
pub mod paths;
pub mod reference;
pub mod report;
pub mod resolve;
pub mod rules;
pub mod source;

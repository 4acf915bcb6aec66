//! stowage: checks that every container image a bootc/MicroShift device will run is carried
//! inside its OS image, in a form CRI-O will find.

pub mod location;
pub mod reference;
pub mod resolve;
pub mod source;

//! Reading a built bootc image: transports, layer streaming, and the merged view of the few
//! files an audit needs.

pub mod view;

//! The automation policy of GlobalLM's pull requests: the risk tier of a change and what each
//! tier may do on its own (`risk`, DESIGN §6).

pub mod risk;

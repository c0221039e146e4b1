//! Automation around a drafted fix: the risk tier of a change and what each tier may do on its
//! own (`risk`, DESIGN §6), judging CI (`ci`) and merging.

pub mod ci;
pub mod risk;

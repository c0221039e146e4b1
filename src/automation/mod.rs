//! Automation around a fix: the fix job ([`fix`]), judging CI ([`ci`]), the risk tier of a
//! change and what each tier may do on its own ([`risk`], DESIGN §6), acting on a pull request
//! by tier ([`pull`]), and every text it writes ([`render`]).

pub mod ci;
pub mod fix;
pub mod pull;
pub mod render;
pub mod risk;

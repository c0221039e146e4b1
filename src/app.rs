//! The composition of the service's background work: every job kind GlobalLM has, registered
//! for the workers. It sits above `jobs/` (the queue, which knows no kind but its own
//! periodic ones), `handlers/` and `fix/`, so none of them imports another in a circle.

use crate::jobs::{BackfillTriage, CatchUp, NightlyDiscovery, Registry, TriageIssue};

/// Every job kind GlobalLM has.
pub fn job_registry() -> Registry {
    let mut registry = Registry::default();
    registry.register::<crate::handlers::ProcessDelivery>();
    registry.register::<CatchUp>();
    registry.register::<BackfillTriage>();
    registry.register::<TriageIssue>();
    registry.register::<crate::fix::FixIssue>();
    registry.register::<crate::fix::window::MergeWindowOpens>();
    registry.register::<NightlyDiscovery>();
    registry.register::<crate::jobs::prune::Prune>();
    registry.register::<crate::jobs::guard_sweep::GuardSweep>();
    registry
}

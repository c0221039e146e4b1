//! GitHub's merge queue: a repository whose base branch requires one gets an enqueue, not a
//! merge call; the queue's group is tested and merged by GitHub (the fake's queue, on real
//! git), and GlobalLM records and says it; a removal from the queue is handled like red CI.

use super::fix_flows::{REPO, Scene};
use crate::fix::FixState;
use crate::monitoring::dashboard;
use crate::testing::fake_github::git;

async fn deliver_all(scene: &Scene, deliveries: Vec<(&'static str, Vec<u8>)>) {
    assert!(!deliveries.is_empty(), "the queue settled");
    for (event, body) in deliveries {
        scene.app.deliver(event, &body).await;
    }
    scene.app.drain().await;
}

/// A green pull request is added to the queue, and GitHub forms its group; returns the
/// group's commit.
async fn queued(scene: &Scene) -> String {
    scene.app.github.require_merge_queue(REPO, "main");
    scene.check("test", "success", "12 passed").await;
    assert!(scene.merges().is_empty(), "no merge call");
    let pull = scene.app.github.pull(REPO, scene.pr);
    assert!(!pull.merged && !pull.draft, "ready, not merged");
    let group = scene
        .app
        .github
        .merge_group_head(REPO, scene.pr)
        .expect("in the merge queue");
    let said = scene.bot_comments();
    assert!(
        said.last()
            .is_some_and(|c| c.contains("`main` requires a merge queue")),
        "{said:?}"
    );
    let checks = scene
        .app
        .github
        .merge_group_delivery(REPO, scene.pr, "checks_requested", None);
    scene.app.deliver("merge_group", &checks).await;
    scene.app.drain().await;
    group
}

async fn group_check(scene: &Scene, group: &str, conclusion: &str) {
    let run =
        scene
            .app
            .github
            .complete_check(REPO, group, "test", conclusion, "on the merge group");
    scene
        .app
        .deliver("check_run", &scene.app.github.check_run_delivery(REPO, run))
        .await;
    scene.app.drain().await;
}

#[tokio::test]
async fn a_repository_with_a_merge_queue_gets_an_enqueue_not_a_merge_and_the_queue_merges_it() {
    let scene = Scene::new("low").await;
    let group = queued(&scene).await;
    let ctx = &scene.app.ctx;
    let waits = dashboard::snapshot(&ctx.db, &ctx.config(), ctx.clock.now_ms())
        .await
        .expect("the snapshot")
        .merge_waits;
    assert_eq!(waits.len(), 1);
    assert_eq!(waits[0].reason, "queue");
    assert!(
        waits[0]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains(&group[..7])),
        "{waits:?}"
    );

    // The queue's checks pass on the group: GitHub merges it, not GlobalLM.
    group_check(&scene, &group, "success").await;
    assert!(
        !scene.app.github.pull(REPO, scene.pr).merged,
        "not before the queue settles"
    );
    deliver_all(&scene, scene.app.github.settle_merge_queue(REPO)).await;
    let pull = scene.app.github.pull(REPO, scene.pr);
    assert!(pull.merged);
    assert_eq!(git::branch_head(&scene.bare, "main"), Some(group.clone()));
    assert!(scene.merges().is_empty(), "GlobalLM never called merge");
    let fix = scene.fix().await;
    assert_eq!(fix.state, FixState::Merged);
    assert_eq!(
        fix.merged_by.as_deref(),
        Some("globallm"),
        "the queue merged what GlobalLM enqueued"
    );
    let watch = crate::db::outcomes::watch_of(scene.app.ctx.db.pool(), fix.id)
        .await
        .expect("read")
        .expect("the post-merge guard watches the queue's merge");
    assert_eq!(Some(watch.merge_sha), pull.merge_sha.clone());
    let said = scene.bot_comments();
    assert!(
        said.last().is_some_and(|c| c.contains(&format!(
            "Merged by GitHub's merge queue as {}",
            &group[..7]
        ))),
        "{said:?}"
    );
    let waits = dashboard::snapshot(&ctx.db, &ctx.config(), ctx.clock.now_ms())
        .await
        .expect("the snapshot")
        .merge_waits;
    assert!(waits.is_empty(), "{waits:?}");
}

#[tokio::test]
async fn a_removal_from_the_queue_is_handled_like_red_ci_and_stops_past_the_repair_bound() {
    let scene = Scene::new("low").await;
    scene.set(|fix| fix.repairs = 1).await;
    let group = queued(&scene).await;

    group_check(&scene, &group, "failure").await;
    deliver_all(&scene, scene.app.github.settle_merge_queue(REPO)).await;
    let pull = scene.app.github.pull(REPO, scene.pr);
    assert!(!pull.merged);
    assert!(
        scene.app.github.merge_group_head(REPO, scene.pr).is_none(),
        "out of the queue"
    );
    let fix = scene.fix().await;
    assert!(fix.stopped, "the repair attempts are used up");
    assert!(
        fix.ci_output
            .as_deref()
            .is_some_and(|o| o.contains("merge queue removed this pull request: CI_FAILURE")),
        "{:?}",
        fix.ci_output
    );
    let said = scene.bot_comments();
    assert!(
        said.last()
            .is_some_and(|c| c.contains("so it stops here") && c.contains("merge queue")),
        "{said:?}"
    );
    // The next report on the head neither merges nor queues it again.
    scene.check("lint", "success", "clean").await;
    assert!(scene.app.github.merge_group_head(REPO, scene.pr).is_none());
    assert!(scene.merges().is_empty());
}

#[tokio::test]
async fn a_removal_from_the_queue_with_repairs_left_asks_for_a_repair_with_the_queues_reason() {
    let scene = Scene::new("low").await;
    let group = queued(&scene).await;
    group_check(&scene, &group, "failure").await;
    deliver_all(&scene, scene.app.github.settle_merge_queue(REPO)).await;
    let fix = scene.fix().await;
    assert_eq!(fix.repairs, 1, "one of the repair budget");
    let said = scene.bot_comments();
    assert!(
        said.iter().any(
            |c| c.contains("attempting a repair with the failing output (1 of 1)")
                && c.contains("merge queue removed this pull request: CI_FAILURE")
        ),
        "{said:?}"
    );
    // The repair job ran with the queue's reason; this scene has no model to draft it with.
    assert!(
        said.last()
            .is_some_and(|c| c.contains("no LLM provider configured")),
        "{said:?}"
    );
}

#[tokio::test]
async fn a_maintainer_taking_it_out_of_the_queue_stops_automation_instead_of_a_repair() {
    let scene = Scene::new("low").await;
    queued(&scene).await;
    let body = scene
        .app
        .github
        .dequeue_by_hand(REPO, scene.pr, super::fix_flows::MAINTAINER);
    scene.app.deliver("pull_request", &body).await;
    scene.app.drain().await;

    let fix = scene.fix().await;
    assert_eq!(fix.repairs, 0, "no repair");
    assert!(fix.stopped, "a maintainer's decision stops automation");
    let said = scene.bot_comments();
    assert!(
        said.last()
            .is_some_and(|c| c.contains("taken out of the merge queue by hand")),
        "{said:?}"
    );
    // Another report on the same head does not put it back.
    scene.check("lint", "success", "clean").await;
    assert!(scene.app.github.merge_group_head(REPO, scene.pr).is_none());
    assert!(scene.merges().is_empty());
    assert_eq!(scene.bot_comments().len(), said.len());
}

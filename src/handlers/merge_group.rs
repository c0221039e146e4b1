//! `merge_group`: GitHub's merge queue formed a group ending with a GlobalLM pull request
//! (its checks are asked for: the pull request waits for them) or destroyed one. A group
//! destroyed because it was `dequeued` is followed by the pull request's own `dequeued`
//! event, which is handled like red CI (`handlers/pull_request.rs`); `invalidated` means
//! GitHub rebuilds the group (a pull request ahead left the queue), and `merged` is followed
//! by the pull request's `closed`.

use super::Handled;
use crate::context::Context;
use crate::db::fixes;
use crate::event::MergeGroupEvent;

/// Handles a `merge_group` delivery.
pub async fn handle_merge_group(ctx: &Context, event: &MergeGroupEvent) -> anyhow::Result<Handled> {
    let Some(number) = event.pull_number() else {
        return Ok(Handled::Skipped(format!(
            "`{}` names no pull request",
            event.head_ref
        )));
    };
    let repo = event.repository.name.to_string();
    let number = i64::try_from(number.0).unwrap_or_default();
    let Some(fix) = fixes::for_pull_request(ctx.db.pool(), &repo, number).await? else {
        return Ok(Handled::Skipped(
            "the group does not end with a GlobalLM pull request".to_owned(),
        ));
    };
    crate::fix::queue::on_merge_group(ctx, &fix, event).await
}

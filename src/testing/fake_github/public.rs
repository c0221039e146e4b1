//! Public repositories on the fake GitHub: ones no installation covers (anyone may read them,
//! nobody but an installation may write), personal read tokens, GitHub's anonymous rate
//! limit, and what a test asks to prove GlobalLM only read: the writes it saw.

use super::world::{Call, FakeRepo};
use super::{FakeGithub, git};

impl FakeGithub {
    /// Adds a public repository (default branch `main`) that no installation covers, backed
    /// by a real bare git repository holding `files`, under `parent`.
    pub fn add_public_repo(
        &self,
        full_name: &str,
        parent: &std::path::Path,
        files: &[(&str, &str)],
    ) -> std::path::PathBuf {
        let bare = git::create_bare(parent, full_name, files);
        let mut world = self.world();
        let id = world.next_id();
        let now = world.now();
        let (owner, name) = full_name.split_once('/').expect("owner/name");
        world.repos.insert(
            full_name.to_owned(),
            FakeRepo {
                id,
                owner: owner.to_owned(),
                name: name.to_owned(),
                default_branch: "main".to_owned(),
                language: Some("Python".to_owned()),
                stars: 12_000,
                git_dir: Some(bare.clone()),
                created_at: now - 5 * 365 * 86_400_000,
                pushed_at: now - 2 * 86_400_000,
                ..FakeRepo::default()
            },
        );
        bare
    }

    /// Makes GitHub accept `token` as a personal token (it may read public repositories).
    pub fn accept_read_token(&self, token: &str) {
        self.world().read_tokens.insert(token.to_owned());
    }

    /// Limits anonymous callers to `per_hour` requests an hour (GitHub's is 60).
    pub fn limit_anonymous(&self, per_hour: i64) {
        self.world().anonymous_limit = Some(per_hour);
    }

    /// Records a check run with `conclusion` on the head of a repository's `main`.
    pub fn conclude_on_main(&self, repo: &str, name: &str, conclusion: &str) {
        let mut world = self.world();
        let id = world.next_id();
        let fake = world.repos.get_mut(repo).expect("the repository exists");
        let head = fake
            .git_dir
            .as_deref()
            .and_then(|bare| git::branch_head(bare, "main"))
            .expect("a git repository with a main branch");
        fake.check_runs.push(super::FakeCheckRun {
            id,
            name: name.to_owned(),
            head_sha: head,
            status: "completed".to_owned(),
            conclusion: Some(conclusion.to_owned()),
            app_slug: "github-actions".to_owned(),
            summary: String::new(),
        });
    }

    /// Every request to a repository (`/repos/…`) that was not a read (`GET`/`HEAD`): what a
    /// repository that has not installed GlobalLM must never see. (The App minting its own
    /// installation token, or a GraphQL query, is not a write to a repository.)
    pub fn writes(&self) -> Vec<Call> {
        self.world()
            .calls
            .iter()
            .filter(|c| c.method != "GET" && c.method != "HEAD" && c.path.starts_with("/repos/"))
            .cloned()
            .collect()
    }
}

//! `globallm app reset`: forgets the GitHub App the manifest flow registered, by removing its
//! stored credentials (`<data dir>/github-app.json`) after saying exactly what goes and asking
//! for confirmation, so that a new App can be registered from `/` (the service refuses a
//! second registration while one is configured).

use crate::config::{ConfigError, Sources};
use crate::github::app::AppCredentials;
use anyhow::Context as _;
use clap::Subcommand;
use std::io::{IsTerminal as _, Write as _};
use std::path::Path;

/// `globallm app …`
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Remove the registered App's credentials (<data dir>/github-app.json) so that a new App
    /// can be registered from `/`
    Reset {
        /// Remove them without asking
        #[arg(long)]
        yes: bool,
    },
}

/// Runs an `app` subcommand.
pub fn run(sources: &Sources, command: &AppCommand) -> anyhow::Result<()> {
    match command {
        AppCommand::Reset { yes } => reset(sources, *yes, &mut std::io::stdin().lock()),
    }
}

fn reset(sources: &Sources, yes: bool, answers: &mut dyn std::io::BufRead) -> anyhow::Result<()> {
    // Unreadable credentials make the configuration fail to load: that is when a reset is
    // needed most, so the data directory is taken from the error.
    let (data_dir, env_app, lock) = match sources.load() {
        Ok(loaded) => {
            let config = loaded.config;
            let lock = config.database_path().with_extension("db.lock");
            let from_file = config
                .secrets
                .github_private_key
                .as_ref()
                .is_some_and(|key| key.source().contains(crate::github::app::CREDENTIALS_FILE));
            let env_app = config.github.app_id.filter(|_| !from_file);
            (config.storage.data_dir, env_app, lock)
        }
        Err(ConfigError::AppCredentials { data_dir, .. }) => {
            let lock = data_dir.join("globallm.db.lock");
            (data_dir, None, lock)
        }
        Err(err) => return Err(err.into()),
    };
    let path = AppCredentials::path(&data_dir);
    if std::fs::symlink_metadata(&path).is_err() {
        println!(
            "Nothing to remove: there are no stored App credentials at {}.",
            path.display()
        );
        print_env_note(env_app);
        return Ok(());
    }
    println!("This removes {}:", path.display());
    match AppCredentials::load(&data_dir) {
        Ok(Some(app)) => println!(
            "  the credentials of the GitHub App {} (id {}) — its private key, webhook secret \
             and OAuth client secret.",
            app.slug, app.id
        ),
        Ok(None) | Err(_) => {
            println!("  the stored GitHub App credentials (the file cannot be read as such).")
        }
    }
    println!(
        "Afterwards GlobalLM has no App: webhooks are refused until a new one is registered from \
         `/` with a new setup token (written to {} when `globallm serve` starts). The App itself \
         stays on GitHub with its installations; delete it in its settings there if it should go.",
        data_dir
            .join(crate::server::setup_token::TOKEN_FILE)
            .display()
    );
    print_env_note(env_app);
    if !yes && !confirm(answers)? {
        println!("Nothing removed.");
        return Ok(());
    }
    AppCredentials::remove(&data_dir)
        .with_context(|| format!("cannot remove {}", path.display()))?;
    println!("Removed {}.", path.display());
    if service_running(&lock) {
        println!(
            "A running `globallm serve` keeps the App until it restarts: restart it to register \
             a new one."
        );
    }
    Ok(())
}

fn print_env_note(env_app: Option<u64>) {
    if let Some(id) = env_app {
        println!(
            "Note: the App id {id} is configured outside github-app.json (GLOBALLM_GITHUB_APP_ID \
             or github.app_id); a reset does not change that — unset it to register a new App."
        );
    }
}

/// Asks on the terminal; without one, refuses (a script must say `--yes`).
fn confirm(answers: &mut dyn std::io::BufRead) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("not removed: confirm with --yes (no terminal to ask on)");
    }
    print!("Remove it? [y/N] ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    answers.read_line(&mut line)?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Whether a `globallm serve` holds the database's lock file `lock`.
fn service_running(lock: &Path) -> bool {
    let Ok(file) = std::fs::OpenOptions::new().write(true).open(lock) else {
        return false;
    };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

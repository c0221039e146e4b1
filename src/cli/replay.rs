//! `globallm replay FILE --event NAME`: signs a payload file with the webhook secret and sends
//! it as GitHub would, to check a deployment (and to drive tests and benchmarks).

use crate::config::Sources;
use crate::github::signature;
use anyhow::Context as _;
use secrecy::SecretString;
use std::path::PathBuf;

/// `globallm replay …`
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The payload: a JSON file as GitHub sends it
    file: PathBuf,
    /// The event name (the X-GitHub-Event header), e.g. issues
    #[arg(long)]
    event: String,
    /// Where to send it [default: http://<server.listen>/webhook]
    #[arg(long)]
    url: Option<String>,
    /// The environment variable holding the webhook secret
    #[arg(long, default_value = "GLOBALLM_WEBHOOK_SECRET", value_name = "VAR")]
    secret_env: String,
    /// The delivery id (X-GitHub-Delivery) [default: a fresh UUID]
    #[arg(long, value_name = "ID")]
    delivery: Option<String>,
}

/// Sends the payload and prints GitHub's view of the answer; a non-2xx answer is an error.
pub async fn run(sources: &Sources, args: &ReplayArgs) -> anyhow::Result<()> {
    let body = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let secret = sources.env_var(&args.secret_env).with_context(|| {
        format!(
            "{} is not set: set it to the webhook secret",
            args.secret_env
        )
    })?;
    let secret = SecretString::from(secret.to_owned());
    let url = match &args.url {
        Some(url) => url.clone(),
        None => {
            let mut listen = sources.load()?.config.server.listen;
            if listen.ip().is_unspecified() {
                listen.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{listen}/webhook")
        }
    };
    let delivery = args
        .delivery
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header("user-agent", "GitHub-Hookshot/globallm-replay")
        .header("x-github-event", &args.event)
        .header("x-github-delivery", &delivery)
        .header(signature::SIGNATURE_HEADER, signature::sign(&secret, &body))
        .body(body)
        .send()
        .await
        .with_context(|| format!("cannot send to {url}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("{status} {delivery} {}", text.trim());
    if !status.is_success() {
        anyhow::bail!("{url} answered {status}");
    }
    Ok(())
}

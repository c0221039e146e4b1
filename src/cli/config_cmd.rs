//! `globallm config --show | --set KEY=VALUE | --path`.

use crate::config::{Config, Sources, parse_assignment, set_in_yaml};
use anyhow::Context as _;
use std::path::Path;

/// `globallm config …`
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("action").required(true).args(["show", "set", "path"]))]
pub struct ConfigArgs {
    /// Print the effective configuration (secrets are never shown)
    #[arg(long)]
    show: bool,
    /// Change one key in the config file, e.g. filter.min_stars=2000 (validated first)
    #[arg(long, value_name = "KEY=VALUE")]
    set: Option<String>,
    /// Print the config file's path
    #[arg(long)]
    path: bool,
    /// With --show: print JSON
    #[arg(long, requires = "show")]
    json: bool,
}

/// Runs `config`.
pub fn run(sources: &Sources, args: &ConfigArgs) -> anyhow::Result<()> {
    if args.path {
        println!("{}", sources.config_path().display());
        return Ok(());
    }
    if let Some(assignment) = &args.set {
        return set(sources, assignment);
    }
    let loaded = sources.load()?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&show_json(&loaded.config))?
        );
    } else {
        print!("{}", show_yaml(&loaded.config)?);
    }
    Ok(())
}

fn show_json(config: &Config) -> serde_json::Value {
    let secrets: serde_json::Map<String, serde_json::Value> = config
        .secrets
        .describe()
        .into_iter()
        .map(|(name, source)| {
            (
                name.to_owned(),
                serde_json::json!({ "set": source.is_some(), "source": source }),
            )
        })
        .collect();
    serde_json::json!({ "config": config, "secrets": secrets })
}

fn show_yaml(config: &Config) -> anyhow::Result<String> {
    let mut text = serde_saphyr::to_string(config).context("rendering the configuration")?;
    text.push_str("# secrets (values are never shown):\n");
    for (name, source) in config.secrets.describe() {
        match source {
            Some(source) => text.push_str(&format!("#   {name}: set, from {source}\n")),
            None => text.push_str(&format!("#   {name}: not set\n")),
        }
    }
    Ok(text)
}

fn set(sources: &Sources, assignment: &str) -> anyhow::Result<()> {
    let (key, value) = parse_assignment(assignment).map_err(anyhow::Error::msg)?;
    let path = sources.config_path();
    let old = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    };
    let new = set_in_yaml(&old, &key, &value)
        .map_err(|err| anyhow::anyhow!("cannot set `{key}` in {}: {err}", path.display()))?;
    sources
        .build(&path, Some(&new))
        .with_context(|| format!("not changed: `{key}` = {value} is refused"))?;
    write_replacing(&path, &new)?;
    println!("Set {key} = {value} in {}", path.display());
    let env_name = format!("GLOBALLM_{}", key.to_uppercase().replace('.', "__"));
    if sources.env_var(&env_name).is_some() {
        println!("Note: {env_name} is set and overrides this value while it is.");
    }
    Ok(())
}

/// Writes `text` to `path` through a temporary file and a rename, so a running service's
/// hot reload never sees half a file.
fn write_replacing(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let temp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("config.yaml")
    ));
    std::fs::write(&temp, text).with_context(|| format!("cannot write {}", temp.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(&temp, meta.permissions()).ok();
    }
    std::fs::rename(&temp, path).with_context(|| format!("cannot replace {}", path.display()))
}

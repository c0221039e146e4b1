//! The `llm.*` configuration: defaults, environment overrides, API keys read from the
//! variable the configuration names (never from the file, never shown), validation, and the
//! client built from it.

mod common;

use common::Setup;
use globallm::config::{ConfigError, ProviderKind};
use globallm::llm::LlmError;
use globallm::llm::client::Llm;
use globallm::llm::clock::SystemClock;
use std::sync::Arc;

#[test]
fn the_default_provider_is_claude_with_its_key_from_anthropic_api_key() {
    let setup = Setup::new().with_env("ANTHROPIC_API_KEY", "sk-ant-secret-value");
    let config = setup.sources().load().expect("loads").config;
    assert_eq!(config.llm.provider, ProviderKind::Anthropic);
    assert_eq!(config.llm.primary().base_url, "https://api.anthropic.com");
    let key = config
        .secrets
        .llm_api_key
        .as_ref()
        .expect("read at load time");
    assert_eq!(key.source(), "environment variable ANTHROPIC_API_KEY");
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("sk-ant-secret-value"),
        "never in Debug output"
    );
}

#[test]
fn the_environment_selects_a_local_server_and_a_fallback() {
    let setup = Setup::new()
        .with_env("GLOBALLM_LLM__PROVIDER", "openai_compatible")
        .with_env("GLOBALLM_LLM__MODEL", "qwen2.5-coder:14b")
        .with_env("GLOBALLM_LLM__BASE_URL", "http://127.0.0.1:8000/v1")
        .with_env("GLOBALLM_LLM__FALLBACK__PROVIDER", "openai")
        .with_env("GLOBALLM_LLM__FALLBACK__MODEL", "gpt-4o")
        .with_env("OPENAI_API_KEY", "sk-openai-secret");
    let config = setup.sources().load().expect("loads").config;
    let primary = config.llm.primary();
    assert_eq!(
        (primary.provider, primary.base_url.as_str()),
        (ProviderKind::OpenaiCompatible, "http://127.0.0.1:8000/v1")
    );
    assert_eq!(primary.api_key_env, None, "a local server needs no key");
    assert!(config.secrets.llm_api_key.is_none());
    let fallback = config.llm.fallback().expect("configured");
    assert_eq!(fallback.model, "gpt-4o");
    assert_eq!(
        config
            .secrets
            .llm_fallback_api_key
            .as_ref()
            .map(|s| s.source().to_owned()),
        Some("environment variable OPENAI_API_KEY".to_owned())
    );
}

#[test]
fn a_key_in_the_file_is_refused_with_how_to_set_it() {
    let setup = Setup::new();
    setup.write_config("llm:\n  api_key: sk-ant-do-not-put-me-here\n");
    let err = setup.sources().load().expect_err("refused");
    assert!(matches!(err, ConfigError::SecretInFile { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("llm.api_key_env") && !text.contains("sk-ant-do-not"),
        "{text}"
    );
}

#[test]
fn invalid_llm_settings_name_the_key() {
    for (yaml, key) in [
        (
            "llm:\n  fallback:\n    provider: openai\n",
            "llm.fallback.model",
        ),
        ("llm:\n  api_key_env: sk-ant-api03-abc\n", "llm.api_key_env"),
        ("llm:\n  base_url: not a url\n", "llm.base_url"),
        (
            "llm:\n  anthropic_token_factor: 0.5\n",
            "llm.anthropic_token_factor",
        ),
        (
            "llm:\n  prices:\n    - {model: gpt-4o, input_usd_per_mtok: -1, output_usd_per_mtok: 1}\n",
            "llm.prices",
        ),
        (
            "budget:\n  reservation_ttl_secs: 5\n",
            "budget.reservation_ttl_secs",
        ),
        ("llm:\n  provider: gemini\n", "llm.provider"),
    ] {
        let setup = Setup::new();
        setup.write_config(yaml);
        let err = setup.sources().load().expect_err(yaml).to_string();
        assert!(err.contains(&format!("`{key}`")), "{yaml}: {err}");
        assert!(
            !err.contains("sk-ant-api03"),
            "a key pasted as a name is not echoed: {err}"
        );
    }
}

#[tokio::test]
async fn the_client_needs_the_key_and_says_which_variable_to_set() {
    let setup = Setup::new();
    let config = Arc::new(setup.sources().load().expect("loads").config);
    let err =
        Llm::from_config(setup.db().await, config, Arc::new(SystemClock)).expect_err("no key");
    assert!(matches!(err, LlmError::Authentication { .. }));
    assert!(
        err.to_string()
            .contains("set the environment variable ANTHROPIC_API_KEY"),
        "{err}"
    );

    let setup = Setup::new()
        .with_env("GLOBALLM_LLM__PROVIDER", "openai_compatible")
        .with_env("GLOBALLM_LLM__MODEL", "llama3.1:8b");
    let config = Arc::new(setup.sources().load().expect("loads").config);
    let llm =
        Llm::from_config(setup.db().await, config, Arc::new(SystemClock)).expect("no key needed");
    assert_eq!(llm.estimator().factor(), 1.0);
}

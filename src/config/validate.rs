//! Rules a configuration must satisfy beyond its types; each failure names the key and why.

use super::{Config, Signal};

/// A value that has the right type but is not acceptable.
#[derive(Debug)]
pub struct Invalid {
    /// The dotted key.
    pub key: &'static str,
    /// Why the value is refused.
    pub reason: String,
}

fn invalid(key: &'static str, reason: impl Into<String>) -> Result<(), Invalid> {
    Err(Invalid {
        key,
        reason: reason.into(),
    })
}

/// Checks every rule, returning the first broken one.
pub fn validate(config: &Config) -> Result<(), Invalid> {
    validate_server(config)?;
    validate_jobs(config)?;
    if config.commands.rate_window_secs == 0 {
        return invalid("commands.rate_window_secs", "must be at least 1 second");
    }
    if config.fix.git_timeout_secs == 0 {
        return invalid("fix.git_timeout_secs", "must be at least 1 second");
    }
    if config.fix.max_repo_mb == 0 {
        return invalid("fix.max_repo_mb", "must be at least 1");
    }
    if config.fix.max_attempts == 0 {
        return invalid("fix.max_attempts", "must be at least 1");
    }
    validate_budget(config)?;
    validate_scoring(config)?;
    validate_risk(config)?;
    super::llm::validate_llm(config)?;
    if config.discovery.languages.is_empty() {
        return invalid("discovery.languages", "name at least one language");
    }
    if config.filter.min_stars == 0 && config.filter.min_dependents == 0 {
        return invalid(
            "filter.min_stars",
            "with min_stars and min_dependents both 0 every repository on GitHub qualifies",
        );
    }
    if config.discovery.schedule.parse::<croner::Cron>().is_err() {
        return invalid(
            "discovery.schedule",
            "not a cron expression (five fields: minute hour day-of-month month day-of-week)",
        );
    }
    if let Err(problems) =
        super::schedule::Schedule::parse("risk.automerge_schedule", &config.risk.automerge_schedule)
    {
        return invalid("risk.automerge_schedule", problems.join("; "));
    }
    if config.storage.data_dir.as_os_str().is_empty() {
        return invalid("storage.data_dir", "must not be empty");
    }
    Ok(())
}

fn validate_server(config: &Config) -> Result<(), Invalid> {
    check_url("github.api_url", &config.github.api_url)?;
    if let Some(web_url) = &config.github.web_url {
        check_url("github.web_url", web_url)?;
    }
    if config.github.request_timeout_secs == 0 {
        return invalid("github.request_timeout_secs", "must be at least 1 second");
    }
    if config.github.max_retries > 10 {
        return invalid("github.max_retries", "must be at most 10");
    }
    if let Some(public_url) = &config.server.public_url {
        check_url("server.public_url", public_url)?;
    }
    let server = &config.server;
    if server.request_timeout_secs == 0 {
        return invalid("server.request_timeout_secs", "must be at least 1 second");
    }
    if server.read_timeout_secs == 0 {
        return invalid("server.read_timeout_secs", "must be at least 1 second");
    }
    if server.max_concurrent_requests == 0 {
        return invalid("server.max_concurrent_requests", "must be at least 1");
    }
    if config.storage.retention_days == 0 {
        return invalid(
            "storage.retention_days",
            "must be at least 1 (a day's deliveries are needed to answer redeliveries)",
        );
    }
    Ok(())
}

fn check_url(key: &'static str, text: &str) -> Result<(), Invalid> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        Ok(_) => invalid(key, "must be an http:// or https:// URL with a host"),
        Err(err) => invalid(key, format!("not a URL: {err}")),
    }
}

fn validate_jobs(config: &Config) -> Result<(), Invalid> {
    let jobs = &config.jobs;
    if !(1..=256).contains(&jobs.workers) {
        return invalid("jobs.workers", "must be between 1 and 256");
    }
    if jobs.max_attempts == 0 {
        return invalid("jobs.max_attempts", "must be at least 1");
    }
    if jobs.backoff_base_secs == 0 {
        return invalid("jobs.backoff_base_secs", "must be at least 1 second");
    }
    if jobs.backoff_max_secs < jobs.backoff_base_secs {
        return invalid(
            "jobs.backoff_max_secs",
            format!(
                "must be at least jobs.backoff_base_secs ({})",
                jobs.backoff_base_secs
            ),
        );
    }
    if jobs.max_run_secs == 0 {
        return invalid("jobs.max_run_secs", "must be at least 1 second");
    }
    if jobs.discovery_max_run_secs == 0 {
        return invalid("jobs.discovery_max_run_secs", "must be at least 1 second");
    }
    if jobs.lease_secs < 5 {
        return invalid("jobs.lease_secs", "must be at least 5 seconds");
    }
    if !(10..=60_000).contains(&jobs.poll_interval_ms) {
        return invalid(
            "jobs.poll_interval_ms",
            "must be between 10 and 60000 milliseconds",
        );
    }
    Ok(())
}

fn validate_budget(config: &Config) -> Result<(), Invalid> {
    let budget = &config.budget;
    if budget.window_start_hour > 23 {
        return invalid("budget.window_start_hour", "must be an hour from 0 to 23");
    }
    if budget.tokens_per_repo > budget.tokens_total {
        return invalid(
            "budget.tokens_per_repo",
            format!(
                "is more than budget.tokens_total ({}), which it can never reach",
                budget.tokens_total
            ),
        );
    }
    Ok(())
}

fn validate_scoring(config: &Config) -> Result<(), Invalid> {
    let weights = &config.scoring.weights;
    for (key, weight) in [
        ("scoring.weights.health", weights.health),
        ("scoring.weights.impact", weights.impact),
        ("scoring.weights.solvability", weights.solvability),
        ("scoring.weights.urgency", weights.urgency),
        ("scoring.weights.redundancy", weights.redundancy),
    ] {
        if !(0.0..=1.0).contains(&weight) {
            return invalid(key, "must be between 0 and 1");
        }
    }
    let sum = weights.health + weights.impact + weights.solvability + weights.urgency;
    if sum <= 0.0 {
        return invalid(
            "scoring.weights.health",
            "the health, impact, solvability and urgency weights are all 0",
        );
    }
    let categories = &config.scoring.category_weights;
    for (key, weight) in [
        ("scoring.category_weights.security", categories.security),
        ("scoring.category_weights.bug", categories.bug),
        ("scoring.category_weights.feature", categories.feature),
        ("scoring.category_weights.docs", categories.docs),
        ("scoring.category_weights.question", categories.question),
        ("scoring.category_weights.other", categories.other),
    ] {
        if !weight.is_finite() || weight < 0.0 {
            return invalid(key, "must be a number of 0 or more");
        }
    }
    let levels = &config.scoring.levels;
    if !(0.0 < levels.medium && levels.medium < levels.high && levels.high < levels.critical)
        || levels.critical > 1.0
    {
        return invalid(
            "scoring.levels.medium",
            "levels must rise: 0 < medium < high < critical <= 1",
        );
    }
    let mixes = [
        ("scoring.urgency.category", config.scoring.urgency.category),
        ("scoring.urgency.age", config.scoring.urgency.age),
        (
            "scoring.urgency.engagement",
            config.scoring.urgency.engagement,
        ),
        (
            "scoring.solvability.complexity",
            config.scoring.solvability.complexity,
        ),
        (
            "scoring.solvability.tests",
            config.scoring.solvability.tests,
        ),
        (
            "scoring.solvability.code_size",
            config.scoring.solvability.code_size,
        ),
        (
            "scoring.solvability.files",
            config.scoring.solvability.files,
        ),
        (
            "scoring.solvability.breaking",
            config.scoring.solvability.breaking,
        ),
        (
            "scoring.health.default_branch_ci",
            config.scoring.health.default_branch_ci,
        ),
        (
            "scoring.health.issue_resolution_rate",
            config.scoring.health.issue_resolution_rate,
        ),
        ("scoring.impact.stars", config.scoring.impact.stars),
        (
            "scoring.impact.dependents",
            config.scoring.impact.dependents,
        ),
        (
            "scoring.impact.downstream_reach",
            config.scoring.impact.downstream_reach,
        ),
        ("scoring.impact.pagerank", config.scoring.impact.pagerank),
        (
            "scoring.impact.betweenness",
            config.scoring.impact.betweenness,
        ),
    ];
    for (key, weight) in mixes {
        if !weight.is_finite() || weight < 0.0 {
            return invalid(key, "must be a number of 0 or more");
        }
    }
    for (key, threshold) in [
        (
            "scoring.urgency.age_threshold_days",
            config.scoring.urgency.age_threshold_days,
        ),
        (
            "scoring.urgency.engagement_threshold",
            config.scoring.urgency.engagement_threshold,
        ),
        (
            "scoring.impact.stars_threshold",
            config.scoring.impact.stars_threshold,
        ),
        (
            "scoring.impact.dependents_threshold",
            config.scoring.impact.dependents_threshold,
        ),
        (
            "scoring.impact.reach_threshold",
            config.scoring.impact.reach_threshold,
        ),
        (
            "scoring.solvability.code_size_threshold_bytes",
            config.scoring.solvability.code_size_threshold_bytes,
        ),
        (
            "scoring.solvability.files_threshold",
            config.scoring.solvability.files_threshold,
        ),
    ] {
        if !threshold.is_finite() || threshold <= 0.0 {
            return invalid(key, "must be a number above 0");
        }
    }
    let health = &config.scoring.health;
    for (key, signal) in [
        ("scoring.health.created_since", health.created_since),
        ("scoring.health.updated_since", health.updated_since),
        ("scoring.health.contributor_count", health.contributor_count),
        ("scoring.health.org_count", health.org_count),
        ("scoring.health.commit_frequency", health.commit_frequency),
        (
            "scoring.health.recent_release_count",
            health.recent_release_count,
        ),
        (
            "scoring.health.updated_issues_count",
            health.updated_issues_count,
        ),
        (
            "scoring.health.closed_issues_count",
            health.closed_issues_count,
        ),
        (
            "scoring.health.issue_comment_frequency",
            health.issue_comment_frequency,
        ),
        (
            "scoring.health.github_mention_count",
            health.github_mention_count,
        ),
        ("scoring.health.dependent_count", health.dependent_count),
    ] {
        check_signal(key, signal)?;
    }
    Ok(())
}

fn check_signal(key: &'static str, signal: Signal) -> Result<(), Invalid> {
    if !signal.weight.is_finite() || signal.weight < 0.0 {
        return invalid(key, "weight must be a number of 0 or more");
    }
    if !signal.threshold.is_finite() || signal.threshold <= 0.0 {
        return invalid(key, "threshold must be a number above 0");
    }
    Ok(())
}

fn validate_risk(config: &Config) -> Result<(), Invalid> {
    let risk = &config.risk;
    if !(risk.low_max_complexity < risk.medium_max_complexity
        && risk.medium_max_complexity < risk.high_max_complexity
        && risk.high_max_complexity <= 10)
    {
        return invalid(
            "risk.low_max_complexity",
            "complexity bounds must rise: low < medium < high <= 10",
        );
    }
    for pattern in &risk.forbidden_paths {
        if pattern.trim().is_empty() {
            return invalid("risk.forbidden_paths", "contains an empty pattern");
        }
    }
    Ok(())
}

//! The fake GitHub's endpoints, in GitHub's shapes (`../shared/data/github/rest-examples/`).
//! Each checks who may call it: App endpoints want the App's JWT, repository endpoints an
//! installation token of an installation that covers the repository (else 404, as GitHub).

use super::server::{Answer, Request};
use super::world::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

pub fn route(world: &mut World, req: &Request<'_>) -> Answer {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match (req.method.clone(), segs.as_slice()) {
        (Method::POST, ["app-manifests", code, "conversions"]) => convert_manifest(world, code),
        // Where a job's log redirects to (GitHub: a short-lived blob storage address).
        (Method::GET, ["_job-logs", owner, name, id]) => world
            .repos
            .get(&format!("{owner}/{name}"))
            .and_then(|repo| repo.job_logs.get(&id.parse::<u64>().ok()?).cloned())
            .map_or_else(Answer::not_found, Answer::text),
        (_, ["app", ..]) | (_, ["repos", _, _, "installation"]) if req.caller != Caller::App => {
            Answer::error(
                StatusCode::UNAUTHORIZED,
                "A JSON web token could not be decoded",
            )
        }
        (Method::GET, ["app"]) => Answer::ok(json!({
            "id": world.app.id, "slug": world.app.slug, "name": world.app.name,
            "html_url": format!("https://github.com/apps/{}", world.app.slug),
        })),
        (Method::GET, ["app", "installations"]) => {
            let list: Vec<Value> = world
                .installations
                .values()
                .map(installation_json)
                .collect();
            Answer::ok(Value::Array(list))
        }
        (Method::POST, ["app", "installations", id, "access_tokens"]) => create_token(world, id),
        (Method::GET, ["repos", owner, name, "installation"]) => {
            match world
                .installation_of(&format!("{owner}/{name}"))
                .and_then(|id| world.installations.get(&id))
            {
                Some(installation) => Answer::ok(installation_json(installation)),
                None => Answer::not_found(),
            }
        }
        (Method::GET, ["app", "hook", "deliveries"]) => {
            let list: Vec<Value> = world
                .hook_deliveries
                .iter()
                .rev()
                .map(hook_delivery_json)
                .collect();
            Answer::ok(Value::Array(list))
        }
        (Method::POST, ["app", "hook", "deliveries", id, "attempts"]) => {
            let Ok(id) = id.parse::<u64>() else {
                return Answer::not_found();
            };
            if !world.hook_deliveries.iter().any(|d| d.id == id) {
                return Answer::not_found();
            }
            world.redeliveries.push(id);
            Answer::json(StatusCode::ACCEPTED, json!({}))
        }
        (_, ["installation", "repositories"]) => installation_repositories(world, req),
        (Method::POST, ["graphql"]) => graphql(world, req),
        (Method::GET, ["search", "issues"]) => search_issues(world, req),
        (Method::GET, ["search", "repositories"]) => search_repositories(world, req),
        (_, ["repos", owner, name, rest @ ..]) => {
            let full_name = format!("{owner}/{name}");
            // Anyone may read a public repository; only its installation may write to it.
            let public_read = *req.method == Method::GET
                && matches!(req.caller, Caller::Anonymous | Caller::Token(_))
                && world.repos.get(&full_name).is_some_and(|r| !r.private);
            let allowed = public_read
                || match req.caller {
                    Caller::Installation(id) => world
                        .installations
                        .get(&id)
                        .is_some_and(|i| i.repos.contains(&full_name)),
                    _ => false,
                };
            if !allowed {
                return if matches!(req.caller, Caller::Anonymous) {
                    Answer::error(StatusCode::UNAUTHORIZED, "Requires authentication")
                } else {
                    Answer::not_found()
                };
            }
            super::repo_handlers::route(world, req, &full_name, rest)
        }
        _ => Answer::not_found(),
    }
}

fn installation_json(installation: &FakeInstallation) -> Value {
    json!({
        "id": installation.id,
        "account": { "login": installation.account, "id": installation.id * 7, "type": installation.account_type },
        "repository_selection": "selected",
        "app_id": 1,
        "target_type": installation.account_type,
    })
}

fn hook_delivery_json(delivery: &FakeHookDelivery) -> Value {
    json!({
        "id": delivery.id,
        "guid": delivery.guid,
        "delivered_at": time(delivery.delivered_at),
        "redelivery": delivery.redelivery,
        "duration": 0.27,
        "status": if (200..300).contains(&delivery.status_code) { "OK".to_owned() } else { format!("Invalid HTTP Response: {}", delivery.status_code) },
        "status_code": delivery.status_code,
        "event": delivery.event,
        "action": Value::Null,
        "installation_id": Value::Null,
        "repository_id": Value::Null,
    })
}

fn convert_manifest(world: &mut World, code: &str) -> Answer {
    let Some(app) = world.manifest_codes.remove(code) else {
        return Answer::error(StatusCode::NOT_FOUND, "Not Found");
    };
    Answer::json(
        StatusCode::CREATED,
        json!({
            "id": app.id,
            "slug": app.slug,
            "node_id": format!("A_{}", app.id),
            "name": app.name,
            "owner": { "login": "acme", "type": "Organization" },
            "html_url": format!("https://github.com/apps/{}", app.slug),
            "client_id": "Iv1.8a61f9b3a7aba766",
            "client_secret": "1726be1638095a19edd134c77bde3aa2ece1e5d8",
            "webhook_secret": app.webhook_secret,
            "pem": app.private_key_pem,
        }),
    )
}

fn create_token(world: &mut World, id: &str) -> Answer {
    let Some(installation) = id
        .parse::<u64>()
        .ok()
        .filter(|id| world.installations.contains_key(id))
    else {
        return Answer::not_found();
    };
    let token = format!("ghs_fake{}", world.next_id());
    let expires_at = world.now() + 3_600_000;
    world
        .tokens
        .insert(token.clone(), (installation, expires_at));
    Answer::json(
        StatusCode::CREATED,
        json!({ "token": token, "expires_at": time(expires_at), "permissions": { "issues": "write" }, "repository_selection": "selected" }),
    )
}

fn installation_repositories(world: &World, req: &Request<'_>) -> Answer {
    let Caller::Installation(id) = req.caller else {
        return Answer::error(StatusCode::UNAUTHORIZED, "Requires an installation token");
    };
    let names = world
        .installations
        .get(&id)
        .map(|i| i.repos.clone())
        .unwrap_or_default();
    let repos: Vec<Value> = names
        .iter()
        .filter_map(|name| world.repos.get(name))
        .map(|repo| repo_json(repo, req.base))
        .collect();
    paginate(
        req,
        repos,
        |items, total| json!({ "total_count": total, "repositories": items }),
    )
}

/// Serves `items` one page at a time (`per_page`, default 30; `page`), with a `next` link.
pub fn paginate(
    req: &Request<'_>,
    items: Vec<Value>,
    wrap: impl Fn(Vec<Value>, usize) -> Value,
) -> Answer {
    let per_page: usize = req
        .query("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page: usize = req
        .query("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let total = items.len();
    let page_items: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut answer = Answer::ok(wrap(page_items, total));
    if page * per_page < total {
        let mut query: Vec<(String, String)> = req
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .cloned()
            .collect();
        query.push(("page".to_owned(), (page + 1).to_string()));
        answer.link_next = Some(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish(),
        );
    }
    answer
}

fn search_issues(world: &World, req: &Request<'_>) -> Answer {
    let query = req.query("q").unwrap_or_default();
    let repo_filter = query
        .split_whitespace()
        .find_map(|t| t.strip_prefix("repo:"));
    let words: Vec<&str> = query
        .split_whitespace()
        .filter(|t| !t.contains(':'))
        .collect();
    let mut items = Vec::new();
    for repo in world.repos.values() {
        if repo_filter.is_some_and(|r| r != repo.full_name()) {
            continue;
        }
        for issue in repo.issues.values() {
            let text = format!("{} {}", issue.title, issue.body).to_lowercase();
            if words.iter().all(|w| text.contains(&w.to_lowercase())) {
                items.push(issue_json(repo, issue, req.base));
            }
        }
    }
    paginate(
        req,
        items,
        |items, total| json!({ "total_count": total, "incomplete_results": false, "items": items }),
    )
}

/// Search's cap: results past the first 1,000 are never served.
const SEARCH_CAP: usize = 1_000;
/// Search calls a caller may make in a minute.
const SEARCH_PER_MINUTE: usize = 30;

/// A `stars:` or `created:` range: `N`, `>N`, `>=N`, `<N`, `<=N`, `A..B`, `A..*`, `*..B`.
fn in_range<T: PartialOrd + std::str::FromStr>(value: &T, spec: &str) -> bool {
    let parse = |t: &str| t.parse::<T>().ok();
    if let Some((lo, hi)) = spec.split_once("..") {
        let lo_ok = lo == "*" || parse(lo).is_some_and(|lo| *value >= lo);
        let hi_ok = hi == "*" || parse(hi).is_some_and(|hi| *value <= hi);
        return lo_ok && hi_ok;
    }
    for (prefix, test) in [
        (">=", (|v: &T, b: &T| v >= b) as fn(&T, &T) -> bool),
        ("<=", |v, b| v <= b),
        (">", |v, b| v > b),
        ("<", |v, b| v < b),
    ] {
        if let Some(bound) = spec.strip_prefix(prefix) {
            return parse(bound).is_some_and(|b| test(value, &b));
        }
    }
    parse(spec).is_some_and(|b| *value == b)
}

/// `GET /search/repositories`: `language:`, `stars:` and `created:` qualifiers, forks only
/// with `fork:true`, sorted by stars; like GitHub, `total_count` is the true count but only
/// the first 1,000 results are served, and a caller gets 30 searches a minute.
fn search_repositories(world: &mut World, req: &Request<'_>) -> Answer {
    let now = world.now();
    let key = format!("{:?}", req.caller);
    let log = world.search_log.entry(key).or_default();
    log.retain(|t| now - t < 60_000);
    if log.len() >= SEARCH_PER_MINUTE {
        let wait = (60_000 - (now - log[0])).max(1_000) / 1_000;
        let mut answer =
            Answer::error(StatusCode::FORBIDDEN, "API rate limit exceeded for search.");
        answer.retry_after = Some(u64::try_from(wait).unwrap_or(60));
        return answer;
    }
    log.push(now);
    let query = req.query("q").unwrap_or_default();
    let qualifier = |name: &str| {
        query
            .split_whitespace()
            .find_map(|t| t.strip_prefix(&format!("{name}:")[..]))
            .map(|v| v.trim_matches('"').to_owned())
    };
    let language = qualifier("language").map(|l| l.to_lowercase());
    let stars = qualifier("stars");
    let created = qualifier("created");
    let forks = qualifier("fork").is_some_and(|f| f == "true" || f == "only");
    let mut repos: Vec<&FakeRepo> = world
        .repos
        .values()
        .filter(|r| {
            language
                .as_deref()
                .is_none_or(|l| r.language.as_deref().map(str::to_lowercase).as_deref() == Some(l))
                && stars.as_deref().is_none_or(|s| in_range(&r.stars, s))
                && created
                    .as_deref()
                    .is_none_or(|c| in_range(&time(r.created_at)[..10].to_owned(), c))
                && (forks || !r.fork)
        })
        .collect();
    repos.sort_by(|a, b| b.stars.cmp(&a.stars).then(a.id.cmp(&b.id)));
    let total = repos.len();
    let per_page: usize = req
        .query("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let page: usize = req
        .query("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_usize)
        .max(1);
    if (page - 1).saturating_mul(per_page.clamp(1, 100)) >= SEARCH_CAP {
        return Answer::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Only the first 1000 search results are available",
        );
    }
    let items: Vec<Value> = repos
        .into_iter()
        .take(SEARCH_CAP)
        .map(|r| repo_json(r, req.base))
        .collect();
    paginate(
        req,
        items,
        |items, _| json!({ "total_count": total, "incomplete_results": false, "items": items }),
    )
}

fn graphql(world: &mut World, req: &Request<'_>) -> Answer {
    let query = req
        .body
        .get("query")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if query.contains("fragment discoveryHealth") {
        return discovery_health(world, req, query);
    }
    if query.contains("fragment discoveryFilter") {
        return discovery_filter(world, req);
    }
    if query.contains("mergeQueue(branch") {
        return super::queue::merge_queue_query(world, req);
    }
    if query.contains("enqueuePullRequest") {
        return super::queue::enqueue(world, req);
    }
    if query.contains("markPullRequestReadyForReview") {
        let id = req
            .body
            .pointer("/variables/id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        for repo in world.repos.values_mut() {
            if let Some(pull) = repo.pulls.values_mut().find(|p| p.node_id == id) {
                pull.draft = false;
                return Answer::ok(
                    json!({ "data": { "markPullRequestReadyForReview": { "pullRequest": { "isDraft": false } } } }),
                );
            }
        }
        return Answer::ok(
            json!({ "data": null, "errors": [{ "message": format!("Could not resolve to a node with the global id of '{id}'") }] }),
        );
    }
    if query.contains("closedByPullRequestsReferences") {
        let var = |name: &str| {
            req.body
                .pointer(&format!("/variables/{name}"))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let full_name = format!(
            "{}/{}",
            var("owner").as_str().unwrap_or_default(),
            var("name").as_str().unwrap_or_default()
        );
        let number = var("number").as_u64().unwrap_or_default();
        let Some(issue) = world
            .repos
            .get(&full_name)
            .and_then(|r| r.issues.get(&number))
        else {
            return Answer::ok(
                json!({ "data": { "repository": null }, "errors": [{ "message": "Could not resolve to a Repository" }] }),
            );
        };
        return Answer::ok(json!({ "data": { "repository": { "issue": {
            "closedByPullRequestsReferences": { "totalCount": issue.linked_pull_requests }
        } } } }));
    }
    Answer::ok(
        json!({ "data": null, "errors": [{ "message": "the fake GitHub does not serve this query" }] }),
    )
}

/// Discovery's batched lookup of repositories by name (the filter's fields): one point per 100
/// repositories.
fn discovery_filter(world: &World, req: &Request<'_>) -> Answer {
    per_alias(world, req, 1, filter_fields)
}

/// The `discoveryFilter` fragment's fields of a repository.
fn filter_fields(repo: &FakeRepo) -> Value {
    json!({
            "databaseId": repo.id,
            "nameWithOwner": repo.full_name(),
            "stargazerCount": repo.stars,
            "isArchived": repo.archived,
            "isDisabled": repo.disabled,
            "isFork": repo.fork,
            "isMirror": repo.mirror,
            "createdAt": time(repo.created_at),
            "pushedAt": time(repo.pushed_at),
        "primaryLanguage": repo.language.as_ref().map(|l| json!({ "name": l })),
    })
}

/// A batched repository query: one alias `rN` per `($oN, $nN)` answered by `answer`, `null`
/// with an error for an unknown repository, and `rateLimit.cost` as GitHub computes it from
/// `requests` per repository: their total divided by 100, at least 1.
fn per_alias(
    world: &World,
    req: &Request<'_>,
    requests: u64,
    answer: impl Fn(&FakeRepo) -> Value,
) -> Answer {
    let var = |name: &str| {
        req.body
            .pointer(&format!("/variables/{name}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mut data = serde_json::Map::new();
    let mut errors = Vec::new();
    let mut i = 0;
    while let (Some(owner), Some(name)) = (var(&format!("o{i}")), var(&format!("n{i}"))) {
        let wanted = format!("{owner}/{name}").to_lowercase();
        let value = match world
            .repos
            .values()
            .find(|r| r.full_name().to_lowercase() == wanted)
        {
            None => {
                errors.push(json!({
                    "type": "NOT_FOUND", "path": [format!("r{i}")],
                    "message": format!("Could not resolve to a Repository with the name '{owner}/{name}'."),
                }));
                Value::Null
            }
            Some(repo) => answer(repo),
        };
        data.insert(format!("r{i}"), value);
        i += 1;
    }
    let cost = (requests * i as u64).div_ceil(100).max(1);
    data.insert(
        "rateLimit".to_owned(),
        json!({ "cost": cost, "remaining": 5_000 - cost, "resetAt": time(world.now() + 3_600_000) }),
    );
    let mut body = json!({ "data": Value::Object(data) });
    if !errors.is_empty() {
        body["errors"] = Value::Array(errors);
    }
    Answer::ok(body)
}

/// Discovery's batched health query, answered from each repository's state; it costs one
/// request per connection per parent (nested connections times their parent's `first`).
fn discovery_health(world: &World, req: &Request<'_>, query: &str) -> Answer {
    let since = req
        .body
        .pointer("/variables/issuesSince")
        .and_then(Value::as_str)
        .and_then(crate::time::parse_rfc3339_ms)
        .unwrap_or(0);
    let nested: u64 = query
        .split("recentIssues: issues(first: ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // mentionableUsers, history, releases, updatedIssues, closedIssues, recentIssues.
    let per_repo = 6 + nested;
    per_alias(world, req, per_repo, |repo| {
        let h = &repo.health;
        let mut releases = h.releases.clone();
        releases.sort_unstable_by(|a, b| b.cmp(a));
        let mut recent: Vec<&(i64, i64, Option<i64>, u64)> =
            h.issues.iter().filter(|i| i.1 >= since).collect();
        recent.sort_by_key(|i| std::cmp::Reverse(i.1));
        let mut value = filter_fields(repo);
        let health = json!({
            "mentionableUsers": {
                "totalCount": h.mentionable_users,
                "nodes": h.companies.iter().take(100).map(|c| json!({ "company": c })).collect::<Vec<_>>(),
            },
            "defaultBranchRef": { "target": {
                "history": { "totalCount": h.commits_last_year },
                "statusCheckRollup": h.ci_state.as_ref().map(|s| json!({ "state": s })),
            } },
            "releases": { "nodes": releases.iter().take(30).map(|t| json!({ "createdAt": time(*t) })).collect::<Vec<_>>() },
            "updatedIssues": { "totalCount": recent.len() },
            "closedIssues": { "totalCount": recent.iter().filter(|i| i.2.is_some()).count() },
            "readme": h.readme.as_ref().map(|t| json!({ "text": t })),
            "cargoToml": h.root_files.get("Cargo.toml").map(|t| json!({ "text": t })),
            "packageJson": h.root_files.get("package.json").map(|t| json!({ "text": t })),
            "pyprojectToml": h.root_files.get("pyproject.toml").map(|t| json!({ "text": t })),
            "requirementsTxt": h.root_files.get("requirements.txt").map(|t| json!({ "text": t })),
            "goMod": h.root_files.get("go.mod").map(|t| json!({ "text": t })),
            "pomXml": h.root_files.get("pom.xml").map(|t| json!({ "text": t })),
            "recentIssues": { "nodes": recent.iter().take(usize::try_from(nested).unwrap_or(0)).map(|i| json!({ "comments": { "totalCount": i.3 } })).collect::<Vec<_>>() },
        });
        if let (Some(value), Value::Object(health)) = (value.as_object_mut(), health) {
            value.extend(health);
        }
        value
    })
}

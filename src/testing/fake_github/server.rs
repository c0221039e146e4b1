//! The fake GitHub's HTTP side: authentication checks (the App's JWT against its public key,
//! installation tokens with their expiry and repositories, personal read tokens), the primary
//! rate limit (anonymous callers' too, when a test sets one), injected
//! faults, ETags and pagination around the handlers in `handlers.rs`.

use super::handlers;
use super::world::{Call, Caller, Fate, Rate, World};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// The shared state of a running fake.
#[derive(Debug, Clone)]
pub struct Shared {
    pub world: Arc<Mutex<World>>,
    /// The API root as clients see it (`http://127.0.0.1:PORT`, plus `/api/v3` in GHES mode).
    pub base: String,
    /// The path prefix of the API root (`""` or `/api/v3`).
    pub prefix: String,
}

/// What a handler answers: a status and a JSON body (or nothing).
pub struct Answer {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub link_next: Option<String>,
    /// A `Retry-After` header, in seconds (search's rate limit).
    pub retry_after: Option<u64>,
    /// A plain-text body instead of JSON (a job's log).
    pub text: Option<String>,
    /// A `302 Found` to this address (where GitHub sends a job's log from).
    pub location: Option<String>,
}

impl Answer {
    pub fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            link_next: None,
            retry_after: None,
            text: None,
            location: None,
        }
    }

    pub fn text(text: String) -> Self {
        Self {
            text: Some(text),
            ..Self::json(StatusCode::OK, Value::Null)
        }
    }

    pub fn redirect(location: String) -> Self {
        Self {
            location: Some(location),
            ..Self::json(StatusCode::FOUND, Value::Null)
        }
    }

    pub fn ok(body: Value) -> Self {
        Self::json(StatusCode::OK, body)
    }

    pub fn error(status: StatusCode, message: &str) -> Self {
        Self::json(
            status,
            json!({ "message": message, "documentation_url": "https://docs.github.com/rest" }),
        )
    }

    pub fn not_found() -> Self {
        Self::error(StatusCode::NOT_FOUND, "Not Found")
    }
}

/// A request as handlers see it.
pub struct Request<'a> {
    pub method: &'a Method,
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: Value,
    pub caller: Caller,
    pub base: &'a str,
}

impl Request<'_> {
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub async fn handle(
    axum::extract::State(shared): axum::extract::State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    // GHES mode serves REST under /api/v3 and GraphQL at /api/graphql.
    let path = if path == "/api/graphql" && !shared.prefix.is_empty() {
        "/graphql".to_owned()
    } else {
        match path.strip_prefix(shared.prefix.as_str()) {
            Some(rest) => rest.to_owned(),
            None => return plain(StatusCode::NOT_FOUND, "outside the API root"),
        }
    };
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let mut world = shared.world.lock().expect("fake GitHub lock");
    let caller = match authenticate(&world, &headers) {
        Ok(caller) => caller,
        Err(message) => {
            record(&mut world, &method, &path, Caller::Anonymous, 401);
            return finish(
                Answer::error(StatusCode::UNAUTHORIZED, &message),
                None,
                &headers,
                &shared.base,
                &path,
            );
        }
    };
    let is_write = method != Method::GET && method != Method::HEAD;
    let chaos = match (&caller, world.chaos.as_mut()) {
        (Caller::Installation(_), Some(chaos)) if is_write && path != "/graphql" => {
            chaos.fate_of_next_write()
        }
        _ => None,
    };
    let mut fail_after_applying = None;
    if chaos == Some(Fate::SecondaryRateLimit) {
        record(&mut world, &method, &path, caller.clone(), 403);
        return fault_response(StatusCode::FORBIDDEN, Some(0));
    }
    if chaos == Some(Fate::AppliedThen502) {
        fail_after_applying = Some(StatusCode::BAD_GATEWAY);
    }
    match injected_fault(&mut world, &method, &path) {
        Some(Injected::After(status)) => fail_after_applying = Some(status),
        Some(Injected::Now(answer)) => {
            record(
                &mut world,
                &method,
                &path,
                caller.clone(),
                answer.status().as_u16(),
            );
            return answer;
        }
        None => {}
    }
    let rate_key = match &caller {
        Caller::Anonymous => world.anonymous_limit.map(|_| "anonymous".to_owned()),
        Caller::App => Some("app".to_owned()),
        Caller::Installation(id) => Some(id.to_string()),
        Caller::Token(token) => Some(format!("token:{token}")),
    };
    let now = world.now();
    let hourly = match &caller {
        Caller::Anonymous => world.anonymous_limit.unwrap_or(60),
        _ => 5_000,
    };
    if let Some(key) = &rate_key {
        let rate = world.rates.entry(key.clone()).or_insert(Rate {
            remaining: hourly,
            reset_at: now + 3_600_000,
        });
        if rate.reset_at <= now {
            *rate = Rate {
                remaining: hourly,
                reset_at: now + 3_600_000,
            };
        }
        if rate.remaining <= 0 {
            let rate = *rate;
            record(&mut world, &method, &path, caller.clone(), 403);
            let mut response = finish(
                Answer::error(
                    StatusCode::FORBIDDEN,
                    "API rate limit exceeded for installation.",
                ),
                Some(rate),
                &headers,
                &shared.base,
                &path,
            );
            response
                .headers_mut()
                .insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            return response;
        }
    }
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(|s| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect();
    let request = Request {
        method: &method,
        segments,
        query,
        body,
        caller: caller.clone(),
        base: &shared.base,
    };
    let answer = handlers::route(&mut world, &request);
    if let Some(at) = world
        .after_calls
        .iter()
        .position(|a| a.method == method.as_str() && path.contains(&a.path))
    {
        let after = world.after_calls.remove(at);
        (after.action)(&mut world);
    }
    let status = answer.status.as_u16();
    let revalidated = is_not_modified(&method, &answer, &headers);
    if let Some(key) = &rate_key
        && !revalidated
        && let Some(rate) = world.rates.get_mut(key)
    {
        rate.remaining -= 1;
    }
    let rate = rate_key.and_then(|k| world.rates.get(&k).copied());
    if let Some(failure) = fail_after_applying {
        record(&mut world, &method, &path, caller, failure.as_u16());
        return fault_response(failure, None);
    }
    record(
        &mut world,
        &method,
        &path,
        caller,
        if revalidated { 304 } else { status },
    );
    drop(world);
    finish(answer, rate, &headers, &shared.base, &path)
}

fn record(world: &mut World, method: &Method, path: &str, caller: Caller, status: u16) {
    world.calls.push(Call {
        method: method.to_string(),
        path: path.to_owned(),
        caller,
        status,
    });
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

fn etag_of(body: &Value) -> String {
    let text = body.to_string();
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("W/\"{hash:016x}\"")
}

fn is_not_modified(method: &Method, answer: &Answer, headers: &HeaderMap) -> bool {
    *method == Method::GET
        && answer.status == StatusCode::OK
        && answer.body.as_ref().is_some_and(|body| {
            headers.get("if-none-match").and_then(|v| v.to_str().ok())
                == Some(etag_of(body).as_str())
        })
}

fn finish(
    answer: Answer,
    rate: Option<Rate>,
    request_headers: &HeaderMap,
    base: &str,
    path: &str,
) -> Response {
    let mut headers = HeaderMap::new();
    if let Some(rate) = rate {
        let set = |headers: &mut HeaderMap, name: &'static str, value: String| {
            headers.insert(name, HeaderValue::from_str(&value).expect("ascii header"));
        };
        set(&mut headers, "x-ratelimit-limit", "5000".to_owned());
        set(
            &mut headers,
            "x-ratelimit-remaining",
            rate.remaining.max(0).to_string(),
        );
        set(
            &mut headers,
            "x-ratelimit-reset",
            (rate.reset_at / 1000).to_string(),
        );
    }
    if let Some(secs) = answer.retry_after {
        headers.insert(
            "retry-after",
            HeaderValue::from_str(&secs.to_string()).expect("ascii"),
        );
    }
    if let Some(next) = &answer.link_next {
        let link = format!("<{base}{path}?{next}>; rel=\"next\"");
        headers.insert("link", HeaderValue::from_str(&link).expect("ascii link"));
    }
    if let Some(location) = &answer.location {
        headers.insert(
            "location",
            HeaderValue::from_str(location).expect("ascii location"),
        );
        return (answer.status, headers).into_response();
    }
    if let Some(text) = answer.text {
        return (answer.status, headers, text).into_response();
    }
    let Some(body) = answer.body else {
        return (answer.status, headers).into_response();
    };
    if answer.status == StatusCode::OK {
        let etag = etag_of(&body);
        let not_modified = request_headers
            .get("if-none-match")
            .and_then(|v| v.to_str().ok())
            == Some(etag.as_str());
        headers.insert("etag", HeaderValue::from_str(&etag).expect("ascii etag"));
        if not_modified {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
    }
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    (answer.status, headers, body.to_string()).into_response()
}

/// An injected fault: answered instead of the request, or after applying it.
enum Injected {
    Now(Response),
    After(StatusCode),
}

fn injected_fault(world: &mut World, method: &Method, path: &str) -> Option<Injected> {
    let fault = world.faults.iter_mut().find(|f| {
        f.times > 0
            && f.method.as_deref().is_none_or(|m| m == method.as_str())
            && if f.exact {
                path == f.path
            } else {
                path.contains(&f.path)
            }
    })?;
    fault.times -= 1;
    let status = StatusCode::from_u16(fault.status).expect("a valid status");
    Some(if fault.after_applying {
        Injected::After(status)
    } else {
        Injected::Now(fault_response(status, fault.retry_after))
    })
}

fn fault_response(status: StatusCode, retry_after: Option<u64>) -> Response {
    let message = if retry_after.is_some() {
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    } else {
        "Server Error"
    };
    let mut response = (status, json!({ "message": message }).to_string()).into_response();
    if let Some(secs) = retry_after {
        response.headers_mut().insert(
            "retry-after",
            HeaderValue::from_str(&secs.to_string()).expect("ascii"),
        );
    }
    response
}

/// Who is calling: the App (a JWT that verifies against its public key, issued within the
/// rules), an installation (a token the fake issued, not expired), or nobody.
fn authenticate(world: &World, headers: &HeaderMap) -> Result<Caller, String> {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Ok(Caller::Anonymous);
    };
    let credential = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("token "))
        .ok_or_else(|| "Bad credentials: unknown authorization scheme".to_owned())?;
    if world.read_tokens.contains(credential) {
        return Ok(Caller::Token(credential.to_owned()));
    }
    if let Some((installation, expires_at)) = world.tokens.get(credential) {
        if *expires_at <= world.now() {
            return Err("Bad credentials: the installation token expired".to_owned());
        }
        return Ok(Caller::Installation(*installation));
    }
    if credential.matches('.').count() == 2 {
        verify_jwt(world, credential)?;
        return Ok(Caller::App);
    }
    Err("Bad credentials".to_owned())
}

fn verify_jwt(world: &World, jwt: &str) -> Result<(), String> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    #[derive(serde::Deserialize)]
    struct Claims {
        iat: i64,
        exp: i64,
        iss: Value,
    }
    let key = DecodingKey::from_rsa_pem(world.app.public_key_pem.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    // Times are checked below against the fake's own clock.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Claims>(jwt, &key, &validation)
        .map_err(|err| format!("'Authorization' JWT could not be decoded: {err}"))?
        .claims;
    let now = world.now() / 1000;
    let issuer = match &claims.iss {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    if issuer != Some(world.app.id) {
        return Err(format!(
            "'Issuer' claim ('iss') must be the App's id {}",
            world.app.id
        ));
    }
    if claims.exp <= now {
        return Err("'Expiration time' claim ('exp') is too far in the past".to_owned());
    }
    if claims.exp - claims.iat > 600 {
        return Err("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires".to_owned());
    }
    if claims.iat > now + 60 {
        return Err("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued".to_owned());
    }
    Ok(())
}

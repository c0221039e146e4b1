//! `POST /webhook` end to end: signed deliveries through the real router into a real SQLite
//! file, processed by the real workers; every refusal stores nothing.

mod common;

use common::{Delivery, SECRET, Setup, count, fixture, jobs_ever_created, sign};
use globallm::db::deliveries;
use globallm::db::installations;
use globallm::github::ids::InstallationId;

#[tokio::test]
async fn a_signed_delivery_is_stored_acknowledged_and_processed() {
    let setup = Setup::new();
    let service = setup.start().await;

    let delivery = Delivery::signed("installation", &fixture("installation"));
    let guid = delivery.guid.clone().expect("has an id");
    let (status, answer) = service.post(delivery).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["status"], "accepted");
    assert_eq!(answer["delivery"], guid.as_str());

    service.wait_until_idle().await;
    let db = setup.db().await;
    let stored = deliveries::get_by_guid(db.pool(), &guid)
        .await
        .expect("query")
        .expect("the delivery is stored");
    assert_eq!(stored.event, "installation");
    assert_eq!(stored.action.as_deref(), Some("created"));
    assert_eq!(stored.installation_id, Some(5151));
    assert_eq!(stored.outcome, "processed");
    let body = deliveries::body(db.pool(), stored.id).await.expect("query");
    assert_eq!(
        body.as_deref(),
        Some(fixture("installation").as_slice()),
        "kept byte for byte"
    );

    let repos = installations::repos_of(db.pool(), InstallationId(5151))
        .await
        .expect("query");
    let names: Vec<&str> = repos.iter().map(|r| r.full_name.as_str()).collect();
    assert_eq!(names, ["acme/gears", "acme/widgets"]);
    service.stop().await;
}

#[tokio::test]
async fn installation_repositories_events_keep_the_repository_list_current() {
    let setup = Setup::new();
    let service = setup.start().await;
    service
        .deliver("installation", &fixture("installation"))
        .await;
    service.wait_until_idle().await;
    let (status, _) = service
        .deliver(
            "installation_repositories",
            &fixture("installation_repositories"),
        )
        .await;
    assert_eq!(status, 202);
    service.wait_until_idle().await;

    let db = setup.db().await;
    let repos = installations::repos_of(db.pool(), InstallationId(5151))
        .await
        .expect("query");
    let names: Vec<&str> = repos.iter().map(|r| r.full_name.as_str()).collect();
    assert_eq!(
        names,
        ["acme/sprockets", "acme/widgets"],
        "gears removed, sprockets added"
    );
    service.stop().await;
}

#[tokio::test]
async fn a_repeated_delivery_is_acknowledged_as_duplicate_and_not_queued_again() {
    let setup = Setup::new();
    let service = setup.start().await;
    let first = Delivery::signed("ping", &fixture("ping"));
    let guid = first.guid.clone();
    let (status, _) = service.post(first).await;
    assert_eq!(status, 202);

    let again = Delivery {
        guid,
        ..Delivery::signed("ping", &fixture("ping"))
    };
    let (status, answer) = service.post(again).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "duplicate");

    service.wait_until_idle().await;
    let db = setup.db().await;
    assert_eq!(count(&db, "deliveries").await, 1);
    assert_eq!(
        jobs_ever_created(&db).await,
        1,
        "one job, for the first delivery only"
    );
    service.stop().await;
}

#[tokio::test]
async fn an_unknown_event_is_stored_acknowledged_and_marked_unsupported() {
    let setup = Setup::new();
    let service = setup.start().await;
    let delivery = Delivery::signed("star", br#"{"action":"created","starred_at":null}"#);
    let guid = delivery.guid.clone().expect("has an id");
    let (status, answer) = service.post(delivery).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["status"], "unsupported");

    let db = setup.db().await;
    let stored = deliveries::get_by_guid(db.pool(), &guid)
        .await
        .expect("query")
        .expect("stored");
    assert_eq!(stored.outcome, "unsupported");
    assert_eq!(jobs_ever_created(&db).await, 0, "nothing to process");
    service.stop().await;
}

#[tokio::test]
async fn every_refused_delivery_gets_a_clear_error_and_nothing_is_stored() {
    let setup = Setup::new();
    let service = setup.start().await;
    let body = fixture("issues");

    let cases: Vec<(&str, Delivery, u16, &str)> = vec![
        (
            "no signature",
            Delivery {
                signature: None,
                ..Delivery::signed("issues", &body)
            },
            401,
            "missing X-Hub-Signature-256",
        ),
        (
            "signed with another secret",
            Delivery {
                signature: Some(sign("not the secret", &body)),
                ..Delivery::signed("issues", &body)
            },
            401,
            "does not match",
        ),
        (
            "a malformed signature",
            Delivery {
                signature: Some("sha1=abcdef".to_owned()),
                ..Delivery::signed("issues", &body)
            },
            401,
            "malformed",
        ),
        (
            "a signature over another body",
            Delivery {
                signature: Some(sign(SECRET, b"{}")),
                ..Delivery::signed("issues", &body)
            },
            401,
            "does not match",
        ),
        (
            "no event header",
            Delivery {
                event: None,
                ..Delivery::signed("issues", &body)
            },
            400,
            "X-GitHub-Event",
        ),
        (
            "no delivery header",
            Delivery {
                guid: None,
                ..Delivery::signed("issues", &body)
            },
            400,
            "X-GitHub-Delivery",
        ),
        (
            "a body that is not JSON",
            Delivery::signed("issues", b"payload=%7B%7D"),
            400,
            "not a JSON object",
        ),
        (
            "a JSON array",
            Delivery::signed("issues", b"[1,2,3]"),
            400,
            "not a JSON object",
        ),
        (
            "truncated JSON",
            Delivery::signed("issues", &body[..body.len() / 2]),
            400,
            "not a JSON object",
        ),
    ];
    for (what, delivery, expected, message) in cases {
        let (status, answer) = service.post(delivery).await;
        assert_eq!(status, expected, "{what}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(message),
            "{what}: `{error}` should mention `{message}`"
        );
    }

    let db = setup.db().await;
    assert_eq!(count(&db, "deliveries").await, 0);
    assert_eq!(jobs_ever_created(&db).await, 0);
    service.stop().await;
}

#[tokio::test]
async fn a_body_over_githubs_25_mib_cap_is_refused_with_413() {
    let setup = Setup::new();
    let service = setup.start().await;
    let mut body = br#"{"padding":""#.to_vec();
    body.resize(25 * 1024 * 1024 + 16, b'a');
    body.extend_from_slice(br#""}"#);
    let (status, answer) = service.post(Delivery::signed("issues", &body)).await;
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("25 MiB"),
        "{answer}"
    );

    let db = setup.db().await;
    assert_eq!(count(&db, "deliveries").await, 0);
    service.stop().await;
}

#[tokio::test]
async fn without_a_secret_every_delivery_is_refused_with_how_to_configure_one() {
    let setup = Setup::new().without_env("GLOBALLM_WEBHOOK_SECRET");
    let service = setup.start().await;
    let (status, answer) = service.deliver("ping", &fixture("ping")).await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("GLOBALLM_WEBHOOK_SECRET"),
        "{answer}"
    );
    let unsigned = Delivery {
        signature: None,
        ..Delivery::signed("ping", &fixture("ping"))
    };
    assert_eq!(
        service.post(unsigned).await.0,
        503,
        "unsigned is never accepted"
    );

    let db = setup.db().await;
    assert_eq!(count(&db, "deliveries").await, 0);
    service.stop().await;
}

#[tokio::test]
async fn during_a_rotation_both_the_new_and_the_previous_secret_are_accepted() {
    let setup = Setup::new()
        .with_env("GLOBALLM_WEBHOOK_SECRET", "the-new-secret")
        .with_env("GLOBALLM_WEBHOOK_SECRET_PREVIOUS", SECRET);
    let service = setup.start().await;
    let body = fixture("ping");
    let old = Delivery::signed("ping", &body);
    assert_eq!(
        service.post(old).await.0,
        202,
        "signed with the previous secret"
    );
    let new = Delivery {
        signature: Some(sign("the-new-secret", &body)),
        ..Delivery::signed("ping", &body)
    };
    assert_eq!(service.post(new).await.0, 202, "signed with the new secret");
    let other = Delivery {
        signature: Some(sign("a third secret", &body)),
        ..Delivery::signed("ping", &body)
    };
    assert_eq!(service.post(other).await.0, 401);
    service.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics_are_served() {
    let setup = Setup::new();
    let service = setup.start().await;
    assert_eq!(service.get("/healthz").await.0, 200);
    let (status, text) = service.get("/readyz").await;
    assert_eq!((status, text.as_str()), (200, "ready\n"));

    service.deliver("ping", &fixture("ping")).await;
    service.deliver("ping", b"not json").await;
    service.deliver("made-up-event", b"not json").await;
    service.wait_until_idle().await;
    let (status, metrics) = service.get("/metrics").await;
    assert_eq!(status, 200);
    for expected in [
        r#"globallm_deliveries_total{event="ping",outcome="accepted"}"#,
        r#"globallm_deliveries_total{event="ping",outcome="not_json"}"#,
        r#"globallm_deliveries_total{event="other",outcome="not_json"}"#,
        r#"globallm_deliveries_processed_total{event="ping",outcome="processed"}"#,
        r#"globallm_jobs_total{kind="process_delivery",outcome="succeeded"}"#,
        r#"globallm_job_duration_seconds_bucket{kind="process_delivery""#,
        r#"globallm_queue_depth{state="ready"} 0"#,
        r#"globallm_queue_depth{state="dead"} 0"#,
    ] {
        assert!(
            metrics.contains(expected),
            "`{expected}` missing from:\n{metrics}"
        );
    }
    service.stop().await;
}

//! The admin API over real HTTP on loopback, against a real manager
//! (memory, disk and sensitive regions): every endpoint, the security
//! rules, concurrent changes with `If-Match`, the event stream.

mod support;

use std::time::Duration;

use cache_admin::{AdminConfig, Role, ServeError, Token};
use hyper::{Method, StatusCode};
use serde_json::json;
use support::{ADMIN_SECRET, Admin, CANARY, READ_SECRET, Scratch, config, manager};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BASE: &str = "/api/config/caching";

async fn fill(admin: &Admin) {
    let users = admin
        .manager
        .region_named::<String, String>("admin-users")
        .expect("region");
    for i in 0..25 {
        users
            .insert(format!("user:{i:02}"), format!("name {i}"))
            .await;
    }
    users.insert("big".into(), "x".repeat(10_000)).await;
    let files = admin
        .manager
        .region_named::<String, Vec<u32>>("admin-files")
        .expect("region");
    files.insert("f1".into(), vec![1, 2, 3]).await;
    let secrets = admin
        .manager
        .region_named::<String, String>("admin-secrets")
        .expect("region");
    secrets
        .insert(format!("key-{CANARY}"), format!("value-{CANARY}"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_with_the_right_status_and_shape() {
    support::capture_logs();
    let scratch = Scratch::new("endpoints");
    let admin = Admin::start(manager(&scratch), config()).await;
    fill(&admin).await;

    // Health: anonymous status; components only with a token.
    let live = admin
        .call(None, Method::GET, "/health/live", None, &[])
        .await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.json()["status"], "up");
    let ready = admin
        .call(None, Method::GET, "/health/ready", None, &[])
        .await;
    assert_eq!(ready.status, StatusCode::OK);
    assert!(ready.json().get("components").is_none(), "{}", ready.text());
    let ready = admin.read("/health/ready").await;
    let names: Vec<String> = ready.json()["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|component| component["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(names.contains(&"regions".to_owned()), "{names:?}");

    // Regions.
    let regions = admin.read(&format!("{BASE}/regions")).await;
    assert_eq!(regions.status, StatusCode::OK);
    let list = regions.json();
    let users = list
        .as_array()
        .expect("a list")
        .iter()
        .find(|region| region["name"] == "admin-users")
        .expect("admin-users listed")
        .clone();
    assert_eq!(users["tier"], "memory");
    assert_eq!(users["entries"], 26);
    assert_eq!(users["max_entries"], 1_000);
    assert_eq!(users["key_type"], "alloc::string::String");
    let detail = admin.read(&format!("{BASE}/regions/admin-users")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(detail.json()["description"], "Users by id");
    assert!(
        detail.json()["fields"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
    );
    let unknown = admin.read(&format!("{BASE}/regions/admin-user")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json()["error"]["code"], "unknown_region");
    assert!(
        unknown.json()["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("admin-users")),
        "did you mean: {}",
        unknown.text()
    );

    // Statistics, with and without a window.
    let stats = admin.read(&format!("{BASE}/statistics?window=1m")).await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.text());
    let one = admin
        .read(&format!("{BASE}/statistics/admin-users?window=5m"))
        .await;
    assert_eq!(one.json()["totals"]["inserts"], 26);
    assert_eq!(one.json()["window"], "5m");
    assert!(one.json()["window_stats"].is_object());
    let bad = admin.read(&format!("{BASE}/statistics?window=2m")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["error"]["field"], "window");

    // Entries: paging by cursor, a pattern, values only for admins.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => {
                format!("{BASE}/admin-users/entries?match=user:*&limit=10&cursor={cursor}")
            }
            None => format!("{BASE}/admin-users/entries?match=user:*&limit=10"),
        };
        let page = admin.read(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let body = page.json();
        for entry in body["entries"].as_array().expect("entries") {
            assert!(entry.get("value").is_none(), "a read token saw a value");
            seen.push(entry["key"].as_str().expect("key").to_owned());
        }
        match body["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25, "{seen:?}");
    let page = admin
        .admin(
            Method::GET,
            &format!("{BASE}/admin-users/entries?match=big"),
            None,
        )
        .await;
    let big = &page.json()["entries"][0];
    assert_eq!(big["truncated"], true);
    assert_eq!(big["size"], 10_002);
    let value = admin
        .admin(
            Method::GET,
            &format!("{BASE}/admin-users/entries/user:03"),
            None,
        )
        .await;
    assert_eq!(value.json()["value"], "name 3");
    let denied = admin
        .read(&format!("{BASE}/admin-users/entries/user:03"))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let missing = admin
        .admin(
            Method::GET,
            &format!("{BASE}/admin-users/entries/nobody"),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let removed = admin
        .admin(
            Method::DELETE,
            &format!("{BASE}/admin-users/entries/user:03"),
            None,
        )
        .await;
    assert_eq!(removed.json()["removed"], true);
    let files = admin
        .admin(Method::GET, &format!("{BASE}/admin-files/entries"), None)
        .await;
    assert_eq!(files.json()["entries"][0]["value"], json!([1, 2, 3]));
    assert_eq!(files.json()["entries"][0]["tier"], "disk");
    let bad_cursor = admin
        .read(&format!("{BASE}/admin-files/entries?cursor=not-a-cursor"))
        .await;
    assert_eq!(bad_cursor.status, StatusCode::BAD_REQUEST);
    let bad_limit = admin
        .read(&format!("{BASE}/admin-users/entries?limit=0"))
        .await;
    assert_eq!(bad_limit.status, StatusCode::BAD_REQUEST);

    // Sensitive regions refuse browsing.
    let secrets = admin
        .admin(Method::GET, &format!("{BASE}/admin-secrets/entries"), None)
        .await;
    assert_eq!(secrets.status, StatusCode::FORBIDDEN);
    assert_eq!(secrets.json()["error"]["code"], "sensitive_region");
    // Reading a secret entry by its key is refused; removing it (revoking
    // a credential) is allowed, and nothing echoes the key: not the
    // answers, the audit trail ("one key") or the access log.
    let secret_entry = format!("{BASE}/admin-secrets/entries/key-{CANARY}");
    let by_key = admin.admin(Method::GET, &secret_entry, None).await;
    assert_eq!(by_key.status, StatusCode::FORBIDDEN, "{}", by_key.text());
    let revoked = admin.admin(Method::DELETE, &secret_entry, None).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    assert_eq!(revoked.json()["removed"], true);
    let trail = admin
        .read(&format!("{BASE}/audit?region=admin-secrets"))
        .await;
    assert_eq!(trail.json()[0]["detail"], "one key", "{}", trail.text());

    // Clear by pattern, refresh, policy.
    let cleared = admin
        .admin(
            Method::POST,
            &format!("{BASE}/admin-users/clear"),
            Some(json!({"pattern": "user:1?", "reason": "test"})),
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.text());
    assert_eq!(cleared.json()["removed"], 10);
    let refreshed = admin
        .admin(
            Method::POST,
            &format!("{BASE}/admin-users/refresh"),
            Some(json!({"keys": ["user:00"]})),
        )
        .await;
    assert_eq!(refreshed.json()["invalidated"], 1, "no loader: removed");
    let policy = admin
        .admin(
            Method::PUT,
            &format!("{BASE}/admin-users/policy"),
            Some(json!({"ttl": "10m", "max_entries": 500, "reason": "smaller"})),
        )
        .await;
    assert_eq!(policy.status, StatusCode::OK, "{}", policy.text());
    let settings = admin.manager.settings("admin-users").expect("settings");
    assert_eq!(settings.ttl, Some(Duration::from_secs(600)));
    assert_eq!(settings.max_entries, Some(500));
    let invalid = admin
        .admin(
            Method::PUT,
            &format!("{BASE}/admin-users/policy"),
            Some(json!({"ttl": "5 mins"})),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(invalid.json()["error"]["field"], "ttl");
    assert_eq!(invalid.json()["error"]["region"], "admin-users");
    let unset = admin
        .admin(
            Method::PUT,
            &format!("{BASE}/admin-users/policy"),
            Some(json!({"ttl": null})),
        )
        .await;
    assert_eq!(unset.status, StatusCode::OK, "{}", unset.text());
    assert_eq!(
        admin.manager.settings("admin-users").expect("settings").ttl,
        None
    );

    // History, rollback, audit.
    let history = admin.read(&format!("{BASE}/history")).await;
    let versions: Vec<u64> = history
        .json()
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|record| record["version"].as_u64())
        .collect();
    assert_eq!(versions, [1, 2]);
    let rolled = admin
        .admin(
            Method::POST,
            &format!("{BASE}/rollback/0"),
            Some(json!({"reason": "undo"})),
        )
        .await;
    assert_eq!(rolled.status, StatusCode::OK, "{}", rolled.text());
    assert_eq!(rolled.json()["version"], 3);
    assert_eq!(
        admin
            .manager
            .settings("admin-users")
            .expect("settings")
            .max_entries,
        Some(1_000)
    );
    let no_version = admin
        .admin(Method::POST, &format!("{BASE}/rollback/99"), None)
        .await;
    assert_eq!(no_version.status, StatusCode::NOT_FOUND);
    let audit = admin.read(&format!("{BASE}/audit")).await;
    let actions: Vec<(String, String, String)> = audit
        .json()
        .as_array()
        .expect("audit")
        .iter()
        .map(|record| {
            (
                record["actor"].as_str().unwrap_or_default().to_owned(),
                record["action"].as_str().unwrap_or_default().to_owned(),
                record["result"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let alice =
        |action: &str, result: &str| ("ops-alice".to_owned(), action.to_owned(), result.to_owned());
    assert!(
        actions.contains(&alice("delete_entry", "ok")),
        "{actions:?}"
    );
    assert!(actions.contains(&alice("clear", "ok")));
    assert!(actions.contains(&alice("refresh", "ok")));
    assert!(actions.contains(&alice("policy", "invalid_config")));
    assert!(actions.contains(&alice("rollback", "unknown_version")));
    let only_users = admin
        .read(&format!("{BASE}/audit?region=admin-files"))
        .await;
    assert_eq!(only_users.json().as_array().map(Vec::len), Some(0));

    // Metrics and the document.
    let metrics = admin.read("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(metrics.text().contains("admin-users"), "{}", metrics.text());
    let document = admin.read("/openapi.json").await;
    assert_eq!(document.status, StatusCode::OK);
    let paths = document.json()["paths"].clone();
    for path in [
        "/api/config/caching",
        "/api/config/caching/regions/{id}",
        "/api/config/caching/{id}/entries/{key}",
        "/api/config/caching/events",
        "/health/ready",
        "/metrics",
    ] {
        assert!(
            paths.get(path).is_some(),
            "{path} missing from the document"
        );
    }
    let unknown_route = admin.read("/api/nothing").await;
    assert_eq!(unknown_route.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown_route.json()["error"]["code"], "no_route");

    // Compressed when asked for, the same text.
    let gzipped = admin
        .call(
            Some(READ_SECRET),
            Method::GET,
            "/metrics",
            None,
            &[("accept-encoding", "gzip")],
        )
        .await;
    assert_eq!(
        gzipped
            .headers
            .get("content-encoding")
            .and_then(|value| value.to_str().ok()),
        Some("gzip")
    );
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&gzipped.body[..]),
        &mut text,
    )
    .expect("gzip");
    assert!(
        text.contains("cache_gets_total{region=\"admin-users\""),
        "{text}"
    );
    assert!(gzipped.body.len() * 3 < text.len(), "compressed");

    // The canary of the sensitive region appeared in no answer and in no
    // log line; the access log names routes as declared, not as sent.
    for answer in admin.answers() {
        // (The kept line starts with the request's own path.)
        let (_, answer) = answer.split_once(" -> ").expect("path -> answer");
        assert!(!answer.contains(CANARY), "canary leaked: {answer}");
    }
    let logs = support::log_lines();
    for line in &logs {
        assert!(!line.contains(CANARY), "canary logged: {line}");
    }
    assert!(
        logs.iter()
            .any(|line| line.starts_with("cache_admin::access:")
                && line.contains("route=\"/api/config/caching/{id}/entries/{key}\"")
                && line.contains("actor=\"ops-alice\"")),
        "{logs:#?}"
    );
    admin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_roles_and_refusals() {
    let scratch = Scratch::new("security");
    let admin = Admin::start(manager(&scratch), config()).await;
    let path = format!("{BASE}/regions");
    let anonymous = admin.call(None, Method::GET, &path, None, &[]).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.json()["error"]["code"], "unauthorized");
    assert!(anonymous.headers.contains_key("www-authenticate"));
    let wrong = admin
        .call(
            Some("not-a-valid-token-at-all"),
            Method::GET,
            &path,
            None,
            &[],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let basic = admin
        .call(
            None,
            Method::GET,
            &path,
            None,
            &[("authorization", "Basic YWxhZGRpbg==")],
        )
        .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
    // The read role cannot mutate: 403, not 401.
    let forbidden = admin
        .call(
            Some(READ_SECRET),
            Method::POST,
            &format!("{BASE}/admin-users/clear"),
            None,
            &[],
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert!(
        forbidden.json()["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("reader"))
    );
    // Health stays anonymous; the document and metrics do not.
    for path in ["/openapi.json", "/metrics", "/api/config/caching/events"] {
        let reply = admin.call(None, Method::GET, path, None, &[]).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    // Bodies: too large, not JSON, unknown fields.
    let huge = json!({"reason": "x".repeat(100_000)});
    let too_large = admin
        .admin(
            Method::POST,
            &format!("{BASE}/admin-users/clear"),
            Some(huge),
        )
        .await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_large.json()["error"]["code"], "body_too_large");
    let unknown_field = admin
        .admin(
            Method::POST,
            &format!("{BASE}/admin-users/clear"),
            Some(json!({"patern": "x"})),
        )
        .await;
    assert_eq!(unknown_field.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown_field.text().contains("patern"),
        "{}",
        unknown_field.text()
    );
    let not_an_object = admin
        .admin(
            Method::PUT,
            &format!("{BASE}/admin-users/policy"),
            Some(json!("ttl=1m")),
        )
        .await;
    assert_eq!(not_an_object.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_an_object.json()["error"]["code"], "bad_body");
    let wrong_method = admin
        .call(Some(READ_SECRET), Method::PATCH, &path, None, &[])
        .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    admin.stop().await;

    // A non-loopback address without a token is refused.
    let open = cache_admin::serve(
        manager(&Scratch::new("open")),
        AdminConfig::new().bind("0.0.0.0:0".parse().expect("address")),
    )
    .await;
    assert!(matches!(open, Err(ServeError::OpenWithoutToken { .. })));
    // Malformed token lists say where.
    let error = Token::parse_list("ops admin short\n", "tokens.txt")
        .expect_err("a short secret is refused");
    assert!(error.to_string().contains("tokens.txt, line 1"), "{error}");
    let error = Token::parse_list("# comment\nops owner 0123456789abcdefgh\n", "t")
        .expect_err("an unknown role is refused");
    assert!(error.to_string().contains("line 2") && error.to_string().contains("owner"));
    let tokens = Token::parse_list("a read 0123456789abcdefgh\nb admin 0123456789abcdefgi", "t")
        .expect("tokens");
    assert_eq!(tokens[1].role(), Role::Admin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutations_are_rate_limited_per_token() {
    let scratch = Scratch::new("rate");
    let config = config().mutations_per_minute(std::num::NonZeroU32::new(2).expect("2"));
    let admin = Admin::start(manager(&scratch), config).await;
    let clear = format!("{BASE}/admin-users/clear");
    for _ in 0..2 {
        let reply = admin.admin(Method::POST, &clear, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let limited = admin.admin(Method::POST, &clear, None).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    // Reads are not limited.
    for _ in 0..5 {
        assert_eq!(
            admin.read(&format!("{BASE}/regions")).await.status,
            StatusCode::OK
        );
    }
    admin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_config_changes_need_the_version_they_were_made_against() {
    let scratch = Scratch::new("if-match");
    let admin = Admin::start(manager(&scratch), config()).await;
    let current = admin.read(BASE).await;
    assert_eq!(current.status, StatusCode::OK);
    let etag = current.headers["etag"].to_str().expect("etag").to_owned();
    assert_eq!(etag, "\"0\"");
    let fields = current.json()["regions"][0]["fields"].clone();
    assert!(fields.as_array().is_some_and(|fields| {
        fields
            .iter()
            .any(|field| field["field"] == "ttl" && field["source"].is_string())
    }));
    let change = |ttl: &str| json!({"reason": "tune", "set": [{"region": "admin-users", "field": "ttl", "value": ttl}]});
    let no_precondition = admin.admin(Method::PUT, BASE, Some(change("1m"))).await;
    assert_eq!(no_precondition.status, StatusCode::PRECONDITION_REQUIRED);
    // Two operators, both from version 0, at once: one wins.
    let put = |ttl: &'static str| {
        let admin = &admin;
        let etag = etag.clone();
        async move {
            admin
                .call(
                    Some(ADMIN_SECRET),
                    Method::PUT,
                    BASE,
                    Some(change(ttl)),
                    &[("if-match", etag.as_str())],
                )
                .await
        }
    };
    let (first, second) = tokio::join!(put("1m"), put("2m"));
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::PRECONDITION_FAILED]);
    let loser = if first.status == StatusCode::OK {
        &second
    } else {
        &first
    };
    assert_eq!(loser.json()["error"]["code"], "stale_version");
    let winner = if first.status == StatusCode::OK {
        &first
    } else {
        &second
    };
    assert_eq!(winner.headers["etag"], "\"1\"");
    // A whole change with a bad field: nothing applied, every problem told.
    let bad = json!({"set": [
        {"region": "admin-users", "field": "ttl", "value": "3m"},
        {"region": "admin-users", "field": "max_entries", "value": "lots"},
        {"region": "nope", "field": "ttl", "value": "1m"}
    ]});
    let refused = admin
        .call(
            Some(ADMIN_SECRET),
            Method::PUT,
            BASE,
            Some(bad),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refused.text()
    );
    assert_eq!(
        refused.json()["error"]["problems"].as_array().map(Vec::len),
        Some(2)
    );
    assert_ne!(
        admin.manager.settings("admin-users").expect("settings").ttl,
        Some(Duration::from_secs(180)),
        "part of a refused change was applied"
    );
    let malformed = admin
        .call(
            Some(ADMIN_SECRET),
            Method::PUT,
            BASE,
            Some(change("1m")),
            &[("if-match", "v1")],
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    admin.stop().await;
}

/// Reads the event stream over a raw connection until `wanted` appears.
async fn read_events_until(url: &str, path: &str, wanted: &[&str]) -> String {
    let address = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {READ_SECRET}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !wanted.iter().all(|want| seen.contains(want)) {
        let read = tokio::time::timeout_at(deadline, stream.read(&mut buffer))
            .await
            .expect("events in time")
            .expect("read");
        assert!(read > 0, "stream closed: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_delivers_region_events_and_stats_ticks() {
    let scratch = Scratch::new("events");
    let admin = Admin::start(manager(&scratch), config()).await;
    let users = admin
        .manager
        .region_named::<String, String>("admin-users")
        .expect("region");
    let secrets = admin
        .manager
        .region_named::<String, String>("admin-secrets")
        .expect("region");
    let url = admin.url.clone();
    let reader = tokio::spawn(async move {
        read_events_until(
            &url,
            "/api/config/caching/events?stats_every=1",
            &["event: stats", "event: cache", "streamed-key"],
        )
        .await
    });
    // Keep writing until the reader has subscribed and seen it.
    let mut round = 0;
    while !reader.is_finished() {
        secrets
            .insert(format!("key-{CANARY}"), format!("value-{CANARY}"))
            .await;
        users
            .insert("streamed-key".into(), format!("v{round}"))
            .await;
        round += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = reader.await.expect("reader");
    assert!(seen.contains("text/event-stream"), "{seen}");
    assert!(seen.contains("\"region\":\"admin-users\""), "{seen}");
    assert!(
        seen.contains("\"region\":\"admin-secrets\""),
        "sensitive events still flow: {seen}"
    );
    assert!(
        !seen.contains(CANARY),
        "a sensitive key reached the stream: {seen}"
    );
    let bad = admin
        .read("/api/config/caching/events?stats_every=99999")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    admin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_mounts_into_another_service_and_shutdown_closes_the_listener() {
    let scratch = Scratch::new("shutdown");
    let admin = Admin::start(manager(&scratch), config()).await;
    let router = cache_admin::router(admin.manager.clone(), config());
    // The router mounts into another service as it is.
    let other = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let other_address = other.local_addr().expect("address");
    let serving = tokio::spawn(async move {
        let _ = axum_serve(other, router).await;
    });
    let client = cache_admin::client::Client::new(
        &format!("http://{other_address}"),
        Some(READ_SECRET.to_owned()),
    )
    .expect("client");
    let regions = client
        .get(&format!("{BASE}/regions"))
        .await
        .expect("answer");
    assert_eq!(regions.status, StatusCode::OK);
    serving.abort();
    let url = admin.url.clone();
    admin.stop().await;
    let gone = cache_admin::client::Client::new(&url, None)
        .expect("client")
        .timeout(Duration::from_secs(2))
        .get("/health/live")
        .await;
    assert!(gone.is_err(), "the listener is closed");
}

async fn axum_serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
) -> std::io::Result<()> {
    axum::serve(listener, router).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_disk_level_degrades_readiness_without_making_the_service_unready() {
    let scratch = Scratch::new("disk-health");
    let admin = Admin::start(manager(&scratch), config()).await;
    let files = admin
        .manager
        .region_named::<String, Vec<u32>>("admin-files")
        .expect("region");
    files.insert("f".into(), vec![1, 2, 3]).await;
    let disk = |body: &serde_json::Value| {
        body["components"]
            .as_array()
            .and_then(|components| components.iter().find(|c| c["name"] == "disk"))
            .cloned()
            .unwrap_or_else(|| panic!("no disk component in {body}"))
    };
    let ready = admin.read("/health/ready").await;
    assert_eq!(ready.status, StatusCode::OK);
    let component = disk(&ready.json());
    assert_eq!(component["status"], "up", "{component}");
    assert!(
        component["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("admin-files")),
        "{component}"
    );

    // An operator who asks for more free space than there is sees the
    // disk degraded, with the share asked for; the service stays ready.
    let demanding = Admin::start(admin.manager.clone(), config().disk_min_free(1.0)).await;
    let ready = demanding.read("/health/ready").await;
    assert_eq!(ready.status, StatusCode::OK, "low space is not unready");
    let component = disk(&ready.json());
    assert_eq!(component["status"], "degraded", "{component}");
    assert!(
        component["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("below the 100 % asked")),
        "{component}"
    );
    demanding.stop().await;

    // The region's folder disappears (an unmounted volume, say).
    std::fs::remove_dir_all(scratch.0.join("disk").join("admin-files")).expect("remove");
    let ready = admin.read("/health/ready").await;
    assert_eq!(
        ready.status,
        StatusCode::OK,
        "a cache outage is not unready"
    );
    let body = ready.json();
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(disk(&body)["status"], "degraded", "{body}");
    // The region on it says so too; the memory region does not.
    let named = |name: &str| {
        body["components"]
            .as_array()
            .and_then(|components| components.iter().find(|c| c["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} component in {body}"))
    };
    let files = named("region:admin-files");
    assert_eq!(files["status"], "degraded", "{files}");
    assert!(
        files["detail"]
            .as_str()
            .is_some_and(|d| d.contains("disk fails")),
        "{files}"
    );
    assert_eq!(named("region:admin-users")["status"], "up");
    assert_eq!(named("regions")["status"], "degraded");
    admin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_components_report_regions_memory_disk_space_and_the_config_store() {
    let scratch = Scratch::new("health-components");
    let admin = Admin::start(manager(&scratch), config()).await;
    fill(&admin).await;
    let body = admin.read("/health/ready").await.json();
    let named = |name: &str| {
        body["components"]
            .as_array()
            .and_then(|components| components.iter().find(|c| c["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} component in {body}"))
    };
    let detail = |name: &str| {
        named(name)["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(named("region:admin-users")["status"], "up");
    assert!(
        detail("region:admin-users").contains("memory: serving, 26 entries"),
        "{body}"
    );
    assert!(detail("memory").contains("process resident"), "{body}");
    assert!(
        detail("memory").contains("fullest region admin-users at 3 %"),
        "{body}"
    );
    assert!(detail("disk").contains("writable in"), "{body}");
    assert!(detail("disk").contains(" free of "), "{body}");
    assert!(detail("config").contains("store file "), "{body}");
    assert!(detail("config").contains("read in"), "{body}");
    // The disk probe leaves nothing behind.
    let leftovers: Vec<String> = std::fs::read_dir(scratch.0.join("disk").join("admin-files"))
        .expect("folder")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("health-probe"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    admin.stop().await;
}

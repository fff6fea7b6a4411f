//! The `cache-admin` tool end to end against a served API: tables, JSON,
//! exit codes, the token from a file or the environment.

mod support;

use std::process::Output;

use support::{ADMIN_SECRET, Admin, READ_SECRET, Scratch, config, manager};

/// Runs the tool with `args` against `url`, the token in `token_file`.
async fn run(url: &str, token: Option<&std::path::Path>, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cache-admin"));
    command.arg("--url").arg(url);
    if let Some(token) = token {
        command.arg("--token-file").arg(token);
    }
    command
        .args(args)
        .env_remove("CACHE_ADMIN_TOKEN")
        .env_remove("CACHE_ADMIN_URL");
    tokio::task::spawn_blocking(move || command.output().expect("the tool runs"))
        .await
        .expect("joined")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tool_drives_a_served_api() {
    let scratch = Scratch::new("cli");
    let admin = Admin::start(manager(&scratch), config()).await;
    let users = admin
        .manager
        .region_named::<String, String>("admin-users")
        .expect("region");
    for i in 0..5 {
        users.insert(format!("user:{i}"), format!("name {i}")).await;
    }
    let reader = scratch.0.join("reader.token");
    std::fs::write(&reader, format!("{READ_SECRET}\n")).expect("token file");
    let ops = scratch.0.join("ops.token");
    // A line of a server's token list works as well.
    std::fs::write(&ops, format!("# ops\nops-alice admin {ADMIN_SECRET}\n")).expect("token file");
    let url = admin.url.clone();

    let regions = run(&url, Some(&reader), &["regions"]).await;
    assert_eq!(regions.status.code(), Some(0), "{}", stderr(&regions));
    let table = stdout(&regions);
    assert!(table.starts_with("REGION"), "{table}");
    assert!(
        table.contains("admin-users") && table.contains("memory"),
        "{table}"
    );

    let json = run(
        &url,
        Some(&reader),
        &["--json", "stats", "admin-users", "--window", "1m"],
    )
    .await;
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(parsed["totals"]["inserts"], 5);

    let entries = run(
        &url,
        Some(&ops),
        &[
            "entries",
            "admin-users",
            "--match",
            "user:*",
            "--limit",
            "2",
        ],
    )
    .await;
    assert_eq!(entries.status.code(), Some(0), "{}", stderr(&entries));
    assert!(
        stdout(&entries).contains("more: --cursor"),
        "{}",
        stdout(&entries)
    );

    let value = run(&url, Some(&ops), &["get", "admin-users", "user:1"]).await;
    assert!(stdout(&value).contains("name 1"), "{}", stdout(&value));

    // A read token cannot clear: exit code 4.
    let denied = run(&url, Some(&reader), &["clear", "admin-users"]).await;
    assert_eq!(denied.status.code(), Some(4), "{}", stderr(&denied));
    assert!(stderr(&denied).contains("403"), "{}", stderr(&denied));

    let cleared = run(
        &url,
        Some(&ops),
        &[
            "--json",
            "clear",
            "admin-users",
            "--match",
            "user:[01]",
            "--reason",
            "cli test",
        ],
    )
    .await;
    assert_eq!(cleared.status.code(), Some(0), "{}", stderr(&cleared));
    let parsed: serde_json::Value = serde_json::from_slice(&cleared.stdout).expect("JSON");
    assert_eq!(parsed["removed"], 2);

    let policy = run(&url, Some(&ops), &["policy", "admin-users", "--ttl", "10m"]).await;
    assert_eq!(policy.status.code(), Some(0), "{}", stderr(&policy));
    let invalid = run(
        &url,
        Some(&ops),
        &["policy", "admin-users", "--ttl", "soon"],
    )
    .await;
    assert_eq!(invalid.status.code(), Some(1), "{}", stderr(&invalid));
    assert!(stderr(&invalid).contains("ttl"), "{}", stderr(&invalid));

    let history = run(&url, Some(&reader), &["history"]).await;
    assert!(
        stdout(&history).contains("ops-alice"),
        "{}",
        stdout(&history)
    );
    let rollback = run(&url, Some(&ops), &["rollback", "0", "--reason", "undo"]).await;
    assert_eq!(rollback.status.code(), Some(0), "{}", stderr(&rollback));
    let audit = run(&url, Some(&reader), &["audit", "--region", "admin-users"]).await;
    let audit = stdout(&audit);
    assert!(
        audit.contains("clear") && audit.contains("policy"),
        "{audit}"
    );

    let unknown = run(&url, Some(&reader), &["stats", "admin-user"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("admin-users"),
        "did you mean: {}",
        stderr(&unknown)
    );

    let health = run(&url, None, &["health"]).await;
    assert_eq!(health.status.code(), Some(0));
    assert!(
        stdout(&health).starts_with("status: up"),
        "{}",
        stdout(&health)
    );

    // No token: 4; bad usage: 2; nobody listening: 3.
    let anonymous = run(&url, None, &["regions"]).await;
    assert_eq!(anonymous.status.code(), Some(4));
    let usage = run(&url, Some(&reader), &["clear"]).await;
    assert_eq!(usage.status.code(), Some(2));
    admin.stop().await;
    let gone = run(&url, Some(&reader), &["regions"]).await;
    assert_eq!(gone.status.code(), Some(3), "{}", stderr(&gone));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tool_lists_alerts_and_makes_and_ends_silences() {
    use cache_admin::AlertSettings;
    use cache_admin::alerts::{AlertRules, Override};

    let scratch = Scratch::new("cli-alerts");
    // Memory above 0.1 % of the limit fires at once: 5 entries of 1000.
    let mut rules = AlertRules::default();
    for rule in &mut rules.rules {
        rule.enabled = rule.id == "memory_high";
        rule.for_secs = 0;
        if !rule.enabled {
            continue;
        }
        rule.overrides.insert(
            String::from("admin-users"),
            Override {
                threshold: Some(0.1),
                recover: Some(0.05),
                enabled: None,
            },
        );
    }
    let admin = Admin::start(
        manager(&scratch),
        config().alerts(
            AlertSettings::new()
                .rules(rules)
                .evaluate_every(std::time::Duration::from_millis(20)),
        ),
    )
    .await;
    let users = admin
        .manager
        .region_named::<String, String>("admin-users")
        .expect("region");
    for i in 0..5 {
        users.insert(format!("user:{i}"), format!("name {i}")).await;
    }
    let reader = scratch.0.join("reader.token");
    std::fs::write(&reader, READ_SECRET).expect("token file");
    let ops = scratch.0.join("ops.token");
    std::fs::write(&ops, ADMIN_SECRET).expect("token file");
    let url = admin.url.clone();

    let start = std::time::Instant::now();
    let table = loop {
        let alerts = run(&url, Some(&reader), &["alerts"]).await;
        assert_eq!(alerts.status.code(), Some(0), "{}", stderr(&alerts));
        let table = stdout(&alerts);
        if table.starts_with("STATE") {
            break table;
        }
        assert!(start.elapsed().as_secs() < 20, "never firing: {table}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        table.contains("firing")
            && table.contains("memory_high")
            && table.contains("region admin-users"),
        "{table}"
    );

    let bad = run(
        &url,
        Some(&ops),
        &["silence", "add", "--match", "region", "--comment", "x"],
    )
    .await;
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("label=value"), "{}", stderr(&bad));
    let denied = run(
        &url,
        Some(&reader),
        &[
            "silence",
            "add",
            "--match",
            "region=admin-users",
            "--comment",
            "x",
        ],
    )
    .await;
    assert_eq!(denied.status.code(), Some(4), "{}", stderr(&denied));
    let made = run(
        &url,
        Some(&ops),
        &[
            "--json",
            "silence",
            "add",
            "--match",
            "region=admin-users",
            "--match",
            "alertname!=backend_down",
            "--for",
            "30m",
            "--comment",
            "maintenance window",
        ],
    )
    .await;
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    let silence: serde_json::Value = serde_json::from_slice(&made.stdout).expect("JSON");
    let id = silence["id"].as_str().expect("an id").to_owned();
    assert_eq!(silence["created_by"], "ops-alice");

    let listed = run(&url, Some(&reader), &["silence", "list"]).await;
    let table = stdout(&listed);
    assert!(
        table.contains(&id) && table.contains("region=admin-users,alertname!=backend_down"),
        "{table}"
    );
    let alerts = stdout(&run(&url, Some(&reader), &["alerts"]).await);
    assert!(alerts.contains(&format!("silenced ({id})")), "{alerts}");

    let ended = run(&url, Some(&ops), &["silence", "expire", &id]).await;
    assert_eq!(ended.status.code(), Some(0), "{}", stderr(&ended));
    let unknown = run(&url, Some(&ops), &["silence", "expire", "nope"]).await;
    assert_eq!(unknown.status.code(), Some(1), "{}", stderr(&unknown));
    assert!(
        stderr(&unknown).contains("no silence"),
        "{}",
        stderr(&unknown)
    );

    let health = run(&url, Some(&reader), &["health"]).await;
    assert_eq!(health.status.code(), Some(0), "{}", stderr(&health));
    assert!(stdout(&health).contains("COMPONENT"), "{}", stdout(&health));
    admin.stop().await;
}

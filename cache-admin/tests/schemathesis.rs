//! A property-based run of the admin API's own OpenAPI document with
//! schemathesis (from PyPI; `scripts/test.sh` installs it into a throwaway
//! venv and names it in `CACHE_ADMIN_SCHEMATHESIS`): every operation gets
//! generated valid and invalid requests over real HTTP, with an admin
//! token, against a real manager; no answer may be a 5xx, and every answer
//! must match the document (status, content type, body schema).

mod support;

use std::path::PathBuf;
use std::process::Command;

use cache_admin::AdminConfig;
use support::{ADMIN_SECRET, Admin, Scratch, config, manager};

/// The schemathesis command: `CACHE_ADMIN_SCHEMATHESIS`, else
/// `schemathesis` on PATH.
fn schemathesis() -> PathBuf {
    if let Some(path) = std::env::var_os("CACHE_ADMIN_SCHEMATHESIS") {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("schemathesis"))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "schemathesis is not installed: run scripts/test.sh (which installs it into a throwaway venv), or `pip install schemathesis` and set CACHE_ADMIN_SCHEMATHESIS to its path"
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_get_no_server_error_and_match_the_document() {
    let command = schemathesis();
    let scratch = Scratch::new("schemathesis");
    // Generated mutations come fast: no rate limit gets in their way here
    // (429 is tested in api.rs).
    let limit = std::num::NonZeroU32::new(1_000_000).expect("non-zero");
    let config: AdminConfig = config().mutations_per_minute(limit);
    let admin = Admin::start(manager(&scratch), config).await;
    let users = admin
        .manager
        .region_named::<String, String>("admin-users")
        .expect("region");
    for i in 0..20 {
        users.insert(format!("user:{i}"), format!("name {i}")).await;
    }
    let secrets = admin
        .manager
        .region_named::<String, String>("admin-secrets")
        .expect("region");
    secrets.insert("k".into(), support::CANARY.into()).await;

    // The document, as a client with a token reads it.
    let document = admin.read("/openapi.json").await;
    assert!(document.status.is_success(), "{}", document.text());
    let schema = scratch.0.join("openapi.json");
    std::fs::write(&schema, &document.body).expect("schema file");

    // Path parameters are drawn from the real regions and keys most of the
    // time (the sensitive region among them), generated otherwise.
    let settings = scratch.0.join("schemathesis.toml");
    std::fs::write(
        &settings,
        r#"[dictionaries.regions]
values = ["admin-users", "admin-files", "admin-secrets"]

[dictionaries.keys]
values = ["user:1", "user:7", "k", "absent"]

[parameters]
"path.id" = { dictionary = "regions", probability = 0.7 }
"path.key" = { dictionary = "keys", probability = 0.7 }
"#,
    )
    .expect("settings file");
    let url = admin.url.clone();
    let folder = scratch.0.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&command)
            .current_dir(&folder)
            .arg("--config-file")
            .arg(&settings)
            .arg("run")
            .arg(&schema)
            .args(["--url", &url])
            .args(["--header", &format!("Authorization: Bearer {ADMIN_SECRET}")])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            ])
            // One worker: hypothesis' lambda descriptions are not safe
            // across threads (a "recursion depth mismatch" runtime error).
            .args(["--max-examples", "40", "--seed", "1", "--workers", "1"])
            // The event stream never ends; api.rs reads it.
            .args(["--exclude-path", "/api/config/caching/events"])
            .args(["--generation-database", "none", "--no-color"])
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["--report", "har", "--report-har-path", "run.har"])
            .output()
            .unwrap_or_else(|error| panic!("{} could not run: {error}", command.display()))
    })
    .await
    .expect("schemathesis finished");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found problems ({}):\n{stdout}\n{stderr}",
        output.status
    );
    println!("{stdout}");
    // Not vacuous: every operation but the stream was tested, with many
    // generated requests.
    let figure = |label: &str| -> Option<String> {
        stdout.lines().find_map(|line| {
            line.trim()
                .strip_prefix(label)
                .map(str::trim)
                .map(str::to_owned)
        })
    };
    let selected = figure("Selected:").expect("the selected operations");
    let (selected, total) = selected.split_once('/').expect("n/total");
    assert_eq!(
        total.parse::<usize>().ok().map(|total| total - 1),
        selected.parse::<usize>().ok(),
        "every operation but the event stream: {stdout}"
    );
    assert_eq!(figure("Tested:").as_deref(), Some(selected), "{stdout}");
    let generated: u64 = stdout
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_suffix(" passed")?
                .split(" generated")
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0);
    assert!(
        generated >= 300,
        "only {generated} generated requests:\n{stdout}"
    );
    // Every generated request and its answer are in the HAR report: the
    // sensitive region's canary is in none of them.
    let har = std::fs::read_to_string(scratch.0.join("run.har")).expect("the HAR report");
    assert!(har.len() > 1_000, "the report holds the requests");
    assert!(
        !har.contains(support::CANARY),
        "a sensitive value was shown"
    );
    assert!(!stdout.contains(support::CANARY));
    admin.stop().await;
}

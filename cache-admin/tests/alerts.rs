//! Alerts end to end, with real receivers: a loopback HTTP server for the
//! webhook and an SMTP sink (`aiosmtpd`, installed by the test command) for
//! mail. A scripted signal walks the manager's stats clock (a
//! `ManualClock` shared with the alert engine) in 10 s steps, so pending,
//! firing, hysteresis, `keep_firing_for` and resolution are deterministic.

mod support;

/// What the ephemeral servers share (used by the certificates' helper's
/// module).
#[path = "../../cache-runtime/src/test_support/server.rs"]
#[allow(dead_code)]
mod server;

/// Throwaway certificates made with openssl (`TestCertificates`).
#[path = "../../cache-runtime/src/test_support/redis.rs"]
#[allow(dead_code)]
mod redis_server;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cache_admin::alerts::{
    AlertRules, ChannelConfig, ChannelTarget, InhibitRule, Matcher, Override, Secret, SmtpTls,
};
use cache_admin::{AdminConfig, AlertSettings};
use cache_runtime::manager::RegionCodecs;
use cache_runtime::stats::ManualClock;
use cache_runtime::{CacheManager, RegionDescriptor, RegionHandle};
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Admin, Scratch, config, receiver};

const BASE: &str = "/api/config/caching";
/// A multiple of 10 s, so steps line up with the history's points.
const T0: u64 = 1_767_225_600_000;
const HMAC_KEY: &str = "hook-key-5e1f-never-shown";

/// The `aiosmtpd` SMTP sink, writing each mail into a Maildir; killed on
/// drop.
struct SmtpSink {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpSink {
    fn start(folder: &Path) -> SmtpSink {
        SmtpSink::start_with(folder, &[])
    }

    /// Started with more `aiosmtpd` arguments (TLS certificates).
    fn start_with(folder: &Path, extra: &[&std::ffi::OsStr]) -> SmtpSink {
        let python = std::env::var_os("CACHE_ADMIN_AIOSMTPD").unwrap_or_else(|| {
            panic!(
                "aiosmtpd is not installed: run scripts/test.sh (which installs it into a throwaway venv), or `pip install aiosmtpd` and set CACHE_ADMIN_AIOSMTPD to that Python"
            )
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let maildir = folder.join("maildir");
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "aiosmtpd never listened"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpSink {
            child,
            port,
            maildir,
        }
    }

    /// Every mail delivered so far, as text, oldest first.
    fn mails(&self) -> Vec<String> {
        let mut mails: Vec<(std::time::SystemTime, String)> =
            std::fs::read_dir(self.maildir.join("new"))
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .filter_map(|entry| {
                            let modified = entry.metadata().ok()?.modified().ok()?;
                            Some((modified, std::fs::read_to_string(entry.path()).ok()?))
                        })
                        .collect()
                })
                .unwrap_or_default();
        mails.sort();
        mails.into_iter().map(|(_, text)| text).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn manager(clock: &ManualClock) -> CacheManager {
    CacheManager::builder()
        .without_linked_regions()
        .without_config_env()
        .background_stats(false)
        .stats_clock(clock.clone())
        .region_with(
            RegionDescriptor::builder("alert-users")
                .max_entries(1_000)
                .build()
                .expect("descriptor"),
            RegionCodecs::<String, String>::serde(),
        )
        .build()
        .expect("manager")
}

/// The hit-rate rule alone, on a 10 s window (each step's point decides),
/// pending 30 s, kept firing 20 s, at least 10 gets; both channels.
fn rules(hook: &str, smtp_port: Option<u16>) -> AlertRules {
    let mut rules = AlertRules::default();
    for rule in &mut rules.rules {
        rule.enabled = rule.id == "hit_rate_low";
        rule.window_secs = 10;
        rule.for_secs = 30;
        rule.keep_firing_for_secs = 20;
        rule.min_requests = 10;
    }
    rules.channels.push(ChannelConfig {
        id: String::from("ops-hook"),
        target: ChannelTarget::Webhook {
            url: hook.to_owned(),
            hmac_key: Some(Secret::Value(HMAC_KEY.to_owned())),
            timeout_secs: 5,
            retries: 3,
            ca_pem: None,
        },
    });
    if let Some(port) = smtp_port {
        rules.channels.push(ChannelConfig {
            id: String::from("ops-mail"),
            target: ChannelTarget::Email {
                host: String::from("127.0.0.1"),
                port: Some(port),
                tls: SmtpTls::None,
                username: None,
                password: None,
                from: String::from("Cache alerts <alerts@example.test>"),
                to: vec![String::from("oncall@example.test")],
                dashboard_url: None,
                timeout_secs: 10,
                ca_pem: None,
            },
        });
    }
    rules
}

fn settings(clock: &ManualClock, state: &Path, rules: AlertRules) -> AdminConfig {
    config().alerts(
        AlertSettings::new()
            .clock(clock.clone())
            .evaluate_every(Duration::from_millis(20))
            .state_file(state)
            .rules(rules)
            .dashboard_url("http://dashboard.example.test"),
    )
}

/// One 10 s step of traffic: `hits` gets of a stored key and `misses` of
/// absent ones, then the clock moves on and the engine evaluates.
async fn step(
    admin: &Admin,
    clock: &ManualClock,
    users: &RegionHandle<String, String>,
    hits: u32,
    misses: u32,
) {
    for _ in 0..hits {
        assert!(users.get(&String::from("known")).await.is_some());
    }
    for i in 0..misses {
        assert!(users.get(&format!("absent-{i}")).await.is_none());
    }
    clock.advance(Duration::from_secs(10));
    evaluated(admin, clock).await;
}

/// Waits until the engine has evaluated at the clock's time.
async fn evaluated(admin: &Admin, clock: &ManualClock) -> Value {
    let now = cache_runtime::stats::Clock::now_ms(clock);
    let start = Instant::now();
    loop {
        let overview = admin.read(&format!("{BASE}/alerts")).await.json();
        if overview["last_evaluation_ms"]
            .as_u64()
            .is_some_and(|at| at >= now)
        {
            return overview;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no evaluation at {now}: {overview}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn states(overview: &Value) -> (usize, usize) {
    let count = |key: &str| overview[key].as_array().map_or(0, Vec::len);
    (count("pending"), count("firing"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fires_after_for_holds_through_hysteresis_resolves_once_and_never_pages_twice_across_a_restart()
 {
    support::capture_logs();
    let scratch = Scratch::new("alerts-lifecycle");
    let sink = SmtpSink::start(&scratch.0);
    // The receiver refuses the first attempt: the retry delivers.
    let (hook, received, _server) = receiver(1).await;
    let clock = ManualClock::new(T0);
    let manager = manager(&clock);
    let users = manager
        .region_named::<String, String>("alert-users")
        .expect("region");
    users.insert(String::from("known"), String::from("v")).await;
    let state = scratch.0.join("alerts.json");
    let admin = Admin::start(
        manager.clone(),
        settings(&clock, &state, rules(&hook, Some(sink.port))),
    )
    .await;

    // Idle: no data, nothing pending.
    let overview = evaluated(&admin, &clock).await;
    assert_eq!(states(&overview), (0, 0));
    // Below the minimum volume: still no data, however bad the rate.
    step(&admin, &clock, &users, 0, 5).await;
    assert_eq!(states(&evaluated(&admin, &clock).await), (0, 0));

    // Hit rate 0 over 20 gets: pending for 30 s, then firing.
    step(&admin, &clock, &users, 0, 20).await;
    assert_eq!(states(&evaluated(&admin, &clock).await), (1, 0));
    step(&admin, &clock, &users, 2, 18).await;
    step(&admin, &clock, &users, 2, 18).await;
    assert_eq!(states(&evaluated(&admin, &clock).await), (1, 0));
    step(&admin, &clock, &users, 2, 18).await;
    let overview = evaluated(&admin, &clock).await;
    assert_eq!(states(&overview), (0, 1), "{overview}");
    let firing = &overview["firing"][0];
    assert_eq!(firing["labels"]["alertname"], "hit_rate_low");
    assert_eq!(firing["labels"]["region"], "alert-users");
    assert_eq!(firing["value"], 0.1);

    // The webhook: Alertmanager's shape, signed, delivered on the retry.
    let hooks = until("the firing webhook", || {
        let all = received.all();
        (!all.is_empty()).then_some(all)
    })
    .await;
    let (headers, body, raw) = &hooks[0];
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "ops-hook");
    assert_eq!(body["groupLabels"]["alertname"], "hit_rate_low");
    let alert = &body["alerts"][0];
    assert_eq!(alert["status"], "firing");
    assert_eq!(alert["labels"]["region"], "alert-users");
    assert_eq!(alert["labels"]["severity"], "warning");
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(alert["startsAt"], "2026-01-01T00:00:50.000Z");
    assert_eq!(
        alert["generatorURL"],
        "http://dashboard.example.test/regions/alert-users"
    );
    assert_eq!(alert["fingerprint"].as_str().map(str::len), Some(16));
    assert!(
        alert["annotations"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("threshold 0.5"))
    );
    let signature = headers
        .get(cache_admin::alerts::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .expect("signed");
    // The signature covers the exact bytes sent.
    assert_eq!(signature, hmac_hex(HMAC_KEY.as_bytes(), raw));
    assert_ne!(signature, hmac_hex(b"another key", raw));

    // The mail: what fired, where, the value and the threshold.
    let mails = until("the firing mail", || {
        let mails = sink.mails();
        (!mails.is_empty()).then_some(mails)
    })
    .await;
    assert!(
        mails[0].contains("Subject: [FIRING] hit_rate_low on region alert-users"),
        "{}",
        mails[0]
    );
    assert!(
        mails[0].contains("value: 0.1; threshold: 0.5; resolves at: 0.6"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("To: oncall@example.test"), "{}", mails[0]);

    // In the hysteresis band (0.55: above the threshold, below the
    // recovery value) it keeps firing, with no new page.
    step(&admin, &clock, &users, 11, 9).await;
    step(&admin, &clock, &users, 11, 9).await;
    assert_eq!(states(&evaluated(&admin, &clock).await), (0, 1));

    // A restart on the same state file: still firing, not paged again.
    admin.stop().await;
    let admin = Admin::start(
        manager.clone(),
        settings(&clock, &state, rules(&hook, Some(sink.port))),
    )
    .await;
    step(&admin, &clock, &users, 0, 20).await;
    let overview = evaluated(&admin, &clock).await;
    assert_eq!(states(&overview), (0, 1), "{overview}");
    assert_eq!(overview["firing"][0]["notified"], true);

    // Recovered (hit rate 1): kept firing 20 s, then resolved, once.
    step(&admin, &clock, &users, 20, 0).await;
    step(&admin, &clock, &users, 20, 0).await;
    assert_eq!(states(&evaluated(&admin, &clock).await), (0, 1));
    step(&admin, &clock, &users, 20, 0).await;
    assert_eq!(states(&evaluated(&admin, &clock).await), (0, 0));
    let hooks = until("the resolved webhook", || {
        let all = received.all();
        (all.len() >= 2).then_some(all)
    })
    .await;
    assert_eq!(hooks[1].1["status"], "resolved");
    assert_eq!(
        hooks[1].1["alerts"][0]["endsAt"],
        "2026-01-01T00:01:50.000Z"
    );
    let mails = until("the resolved mail", || {
        let mails = sink.mails();
        (mails.len() >= 2).then_some(mails)
    })
    .await;
    assert!(
        mails[1].contains("Subject: [RESOLVED] hit_rate_low"),
        "{}",
        mails[1]
    );
    // A few more steps: nothing else is sent.
    step(&admin, &clock, &users, 20, 0).await;
    step(&admin, &clock, &users, 20, 0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(received.all().len(), 2);
    assert_eq!(sink.mails().len(), 2);

    // The history has each change once, newest first.
    let overview = admin.read(&format!("{BASE}/alerts")).await.json();
    let history: Vec<&str> = overview["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|change| change["alert"]["state"].as_str())
        .collect();
    assert_eq!(history, ["resolved", "firing", "pending"]);
    let channels = overview["channels"].as_array().expect("channels");
    // Counted since this start: the resolved page only.
    assert!(
        channels
            .iter()
            .any(|c| c["id"] == "ops-hook" && c["sent"] == 1 && c["failed"] == 0),
        "{channels:?}"
    );

    // The secret was never shown or logged.
    let rules = admin.read(&format!("{BASE}/alerts/rules")).await;
    assert!(!rules.text().contains(HMAC_KEY), "{}", rules.text());
    assert!(
        rules.text().contains(r#""hmac_key":{"set":true}"#),
        "{}",
        rules.text()
    );
    assert!(
        support::log_lines()
            .iter()
            .all(|line| !line.contains(HMAC_KEY))
    );
    admin.stop().await;
}

fn hmac_hex(key: &[u8], body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256>>::new_from_slice(key).expect("any key length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_mutes_and_its_expiry_pages_what_still_fires() {
    let scratch = Scratch::new("alerts-silence");
    let (hook, received, _server) = receiver(0).await;
    let clock = ManualClock::new(T0);
    let manager = manager(&clock);
    let users = manager
        .region_named::<String, String>("alert-users")
        .expect("region");
    users.insert(String::from("known"), String::from("v")).await;
    let mut rules = rules(&hook, None);
    rules.rules[0].for_secs = 0;
    let admin = Admin::start(
        manager.clone(),
        settings(&clock, &scratch.0.join("alerts.json"), rules),
    )
    .await;

    // Bad silences are refused with what is wrong.
    let none = admin
        .admin(
            Method::POST,
            &format!("{BASE}/alerts/silences"),
            Some(json!({
                "matchers": [], "duration_secs": 60, "comment": "deploy"
            })),
        )
        .await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST, "{}", none.text());
    assert!(
        none.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("matcher"))
    );
    let why = admin
        .admin(Method::POST, &format!("{BASE}/alerts/silences"), Some(json!({
            "matchers": [{"name": "region", "value": "alert-users"}], "duration_secs": 60, "comment": " "
        })))
        .await;
    assert_eq!(why.status, StatusCode::BAD_REQUEST);
    let reader = admin
        .call(Some(support::READ_SECRET), Method::POST, &format!("{BASE}/alerts/silences"), Some(json!({
            "matchers": [{"name": "region", "value": "alert-users"}], "duration_secs": 60, "comment": "x"
        })), &[])
        .await;
    assert_eq!(reader.status, StatusCode::FORBIDDEN);

    let made = admin
        .admin(Method::POST, &format!("{BASE}/alerts/silences"), Some(json!({
            "matchers": [{"name": "region", "value": "alert-users"}], "duration_secs": 25, "comment": "load test"
        })))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    assert_eq!(made.json()["created_by"], "ops-alice");
    let id = made.json()["id"].as_str().expect("an id").to_owned();

    step(&admin, &clock, &users, 0, 20).await;
    let overview = evaluated(&admin, &clock).await;
    assert_eq!(states(&overview), (0, 1));
    assert_eq!(overview["firing"][0]["silenced_by"][0], id.as_str());
    step(&admin, &clock, &users, 0, 20).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(received.all().is_empty(), "silenced, yet paged");
    // The silence ends (25 s): the alert that still fires is paged.
    step(&admin, &clock, &users, 0, 20).await;
    let hooks = until("the page after the silence", || {
        let all = received.all();
        (!all.is_empty()).then_some(all)
    })
    .await;
    assert_eq!(hooks.len(), 1);
    let overview = evaluated(&admin, &clock).await;
    let silence = &overview["silences"][0];
    assert_eq!(
        (silence["active"].clone(), silence["expired"].clone()),
        (json!(false), json!(true))
    );
    // Ending one by hand; an unknown one is a 404.
    let gone = admin
        .admin(
            Method::DELETE,
            &format!("{BASE}/alerts/silences/{id}"),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::OK);
    let unknown = admin
        .admin(
            Method::DELETE,
            &format!("{BASE}/alerts/silences/nope"),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json()["error"]["code"], "unknown_silence");
    // Both are in the audit trail with their author.
    let audit = admin.read(&format!("{BASE}/audit")).await.json();
    let actions: Vec<(&str, &str)> = audit
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|r| Some((r["action"].as_str()?, r["actor"].as_str()?)))
        .filter(|(action, _)| action.contains("silence"))
        .collect();
    assert!(actions.contains(&("silence", "ops-alice")), "{actions:?}");
    assert!(actions.contains(&("unsilence", "ops-alice")), "{actions:?}");
    admin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_changes_are_checked_versioned_and_keep_their_secrets() {
    let scratch = Scratch::new("alerts-rules");
    let (hook, received, _server) = receiver(0).await;
    let clock = ManualClock::new(T0);
    let admin = Admin::start(
        manager(&clock),
        settings(&clock, &scratch.0.join("alerts.json"), rules(&hook, None)),
    )
    .await;
    let read = admin.read(&format!("{BASE}/alerts/rules")).await;
    assert_eq!(read.status, StatusCode::OK);
    let etag = read
        .headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("etag")
        .to_owned();
    let mut document = read.json()["rules"].clone();

    // Without If-Match: 428; a bad threshold: 400 naming the field, nothing
    // changed.
    let blind = admin
        .admin(
            Method::PUT,
            &format!("{BASE}/alerts/rules"),
            Some(document.clone()),
        )
        .await;
    assert_eq!(blind.status, StatusCode::PRECONDITION_REQUIRED);
    let mut bad = document.clone();
    bad["rules"][0]["threshold"] = json!(1.5);
    bad["rules"][0]["window_secs"] = json!(15);
    let refused = admin
        .call(
            Some(support::ADMIN_SECRET),
            Method::PUT,
            &format!("{BASE}/alerts/rules"),
            Some(bad),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refused.text()
    );
    let error = &refused.json()["error"];
    assert_eq!(error["code"], "invalid_alert_rules");
    assert_eq!(error["field"], "rules[0].threshold");
    let fields: Vec<&str> = error["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["field"].as_str())
        .collect();
    assert!(fields.contains(&"rules[0].window_secs"), "{fields:?}");
    let unchanged = admin.read(&format!("{BASE}/alerts/rules")).await;
    assert_eq!(unchanged.json()["version"], 0);
    let unknown = {
        let mut doc = document.clone();
        doc["rules"][0]["treshold"] = json!(0.4);
        admin
            .call(
                Some(support::ADMIN_SECRET),
                Method::PUT,
                &format!("{BASE}/alerts/rules"),
                Some(doc),
                &[("if-match", &etag)],
            )
            .await
    };
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.text().contains("treshold"), "{}", unknown.text());

    // A good change keeps the hidden secret and bumps the version; the
    // old version is now stale.
    document["rules"][0]["threshold"] = json!(0.4);
    let applied = admin
        .call(
            Some(support::ADMIN_SECRET),
            Method::PUT,
            &format!("{BASE}/alerts/rules"),
            Some(document.clone()),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.text());
    assert_eq!(applied.json()["version"], 1);
    let stale = admin
        .call(
            Some(support::ADMIN_SECRET),
            Method::PUT,
            &format!("{BASE}/alerts/rules"),
            Some(document),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let saved = std::fs::read_to_string(scratch.0.join("alerts.json")).expect("state file");
    assert!(saved.contains(HMAC_KEY), "the key is kept for signing");

    // A test send reaches the receiver, signed.
    let test = admin
        .admin(
            Method::POST,
            &format!("{BASE}/alerts/channels/ops-hook/test"),
            None,
        )
        .await;
    assert_eq!(test.status, StatusCode::OK, "{}", test.text());
    assert_eq!(test.json()["delivered"], true);
    let hooks = received.all();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].1["alerts"][0]["labels"]["alertname"], "test");
    assert!(
        hooks[0]
            .0
            .contains_key(cache_admin::alerts::SIGNATURE_HEADER)
    );
    let missing = admin
        .admin(
            Method::POST,
            &format!("{BASE}/alerts/channels/nope/test"),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    admin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_endpoint_serves_each_step() {
    let scratch = Scratch::new("alerts-history");
    let (hook, _received, _server) = receiver(0).await;
    let clock = ManualClock::new(T0);
    let manager = manager(&clock);
    let users = manager
        .region_named::<String, String>("alert-users")
        .expect("region");
    users.insert(String::from("known"), String::from("v")).await;
    let admin = Admin::start(
        manager.clone(),
        settings(&clock, &scratch.0.join("alerts.json"), rules(&hook, None)),
    )
    .await;
    for (hits, misses) in [(3, 1), (0, 0), (5, 5)] {
        step(&admin, &clock, &users, hits, misses).await;
    }
    let history = admin
        .read(&format!("{BASE}/statistics/alert-users/history?range=1h"))
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text());
    let body = history.json();
    assert_eq!(
        (body["range"].clone(), body["step_seconds"].clone()),
        (json!("1h"), json!(10))
    );
    let points: Vec<(u64, u64, u64)> = body["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| {
            (
                (p["at_ms"].as_u64().unwrap_or(0) - T0) / 1000,
                p["hits"].as_u64().unwrap_or(0),
                p["misses"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(points, [(0, 3, 1), (10, 0, 0), (20, 5, 5)]);
    assert_eq!(body["points"][0]["entries"], 1);
    let day = admin
        .read(&format!("{BASE}/statistics/alert-users/history?range=24h"))
        .await;
    assert_eq!(day.json()["step_seconds"], 60);
    let bad = admin
        .read(&format!("{BASE}/statistics/alert-users/history?range=2h"))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["error"]["field"], "range");
    let unknown = admin
        .read(&format!("{BASE}/statistics/alert-user/history"))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    admin.stop().await;
}

/// Names of the alerts a webhook body reports firing.
fn firing_names(body: &Value) -> Vec<String> {
    body["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|alert| alert["status"] == "firing")
        .filter_map(|alert| alert["labels"]["alertname"].as_str().map(str::to_owned))
        .collect()
}

/// An inhibition rule end to end: while the region's memory alert fires,
/// its hit-rate alert fires too but is not paged; once the memory alert
/// resolves, the hit-rate alert is paged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inhibited_alert_is_paged_only_once_its_source_resolves() {
    let scratch = Scratch::new("alerts-inhibit");
    let (hook, received, _server) = receiver(0).await;
    let clock = ManualClock::new(T0);
    let manager = manager(&clock);
    let users = manager
        .region_named::<String, String>("alert-users")
        .expect("region");
    users.insert(String::from("known"), String::from("v")).await;
    let mut rules = rules(&hook, None);
    for rule in &mut rules.rules {
        rule.for_secs = 0;
        rule.keep_firing_for_secs = 0;
        if rule.id == "memory_high" {
            // One entry of 1,000 is 0.1 %: above this region's threshold.
            rule.enabled = true;
            rule.overrides.insert(
                String::from("alert-users"),
                Override {
                    threshold: Some(0.05),
                    recover: Some(0.01),
                    enabled: None,
                },
            );
        }
    }
    rules.inhibit = vec![InhibitRule {
        source: vec![Matcher::equal("alertname", "memory_high")],
        target: vec![Matcher::equal("alertname", "hit_rate_low")],
        equal: vec![String::from("region")],
    }];
    let admin = Admin::start(
        manager.clone(),
        settings(&clock, &scratch.0.join("alerts.json"), rules),
    )
    .await;

    // Both fire; the hit-rate alert is inhibited by the memory alert.
    step(&admin, &clock, &users, 0, 20).await;
    let overview = evaluated(&admin, &clock).await;
    assert_eq!(states(&overview), (0, 2), "{overview}");
    let hit_rate = overview["firing"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|alert| alert["labels"]["alertname"] == "hit_rate_low")
        .expect("the hit-rate alert");
    assert!(hit_rate["inhibited_by"].is_string(), "{hit_rate}");
    until("the memory page", || {
        let all = received.all();
        (!all.is_empty()).then_some(all)
    })
    .await;
    step(&admin, &clock, &users, 0, 20).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let paged: Vec<String> = received
        .all()
        .iter()
        .flat_map(|(_, body, _)| firing_names(body))
        .collect();
    assert!(paged.iter().all(|name| name == "memory_high"), "{paged:?}");

    // The entry goes: memory resolves, and the hit-rate alert is paged.
    assert!(users.remove(&String::from("known")).await);
    step(&admin, &clock, &users, 0, 20).await;
    step(&admin, &clock, &users, 0, 20).await;
    until("the hit-rate page", || {
        received
            .all()
            .iter()
            .any(|(_, body, _)| firing_names(body).iter().any(|n| n == "hit_rate_low"))
            .then_some(())
    })
    .await;
    let overview = evaluated(&admin, &clock).await;
    assert_eq!(states(&overview), (0, 1), "{overview}");
    admin.stop().await;
}

/// Mail over STARTTLS and over implicit TLS to `aiosmtpd` with a private
/// CA: trusted through `ca_pem` it is delivered; without it the test send
/// fails on the certificate and says so.
#[cfg(feature = "notify-tls")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_over_tls_is_checked_against_the_configured_ca() {
    let scratch = Scratch::new("alerts-smtp-tls");
    let certificates = redis_server::TestCertificates::generate(&scratch.0.join("certs"));
    let ca = std::fs::read_to_string(&certificates.ca).expect("the CA certificate");
    let (cert, key) = certificates.server.clone();
    let clock = ManualClock::new(T0);
    let manager = manager(&clock);
    for (mode, flags) in [
        (SmtpTls::Starttls, ["--tlscert", "--tlskey"]),
        (SmtpTls::Tls, ["--smtpscert", "--smtpskey"]),
    ] {
        let folder = scratch.0.join(format!("{mode:?}"));
        std::fs::create_dir_all(&folder).expect("folder");
        let sink = SmtpSink::start_with(
            &folder,
            &[
                std::ffi::OsStr::new(flags[0]),
                cert.as_os_str(),
                std::ffi::OsStr::new(flags[1]),
                key.as_os_str(),
            ],
        );
        let mut rules = AlertRules::default();
        for (id, ca_pem) in [("trusted", Some(ca.clone())), ("untrusted", None)] {
            rules.channels.push(ChannelConfig {
                id: id.to_owned(),
                target: ChannelTarget::Email {
                    host: String::from("127.0.0.1"),
                    port: Some(sink.port),
                    tls: mode,
                    username: None,
                    password: None,
                    from: String::from("alerts@example.test"),
                    to: vec![String::from("oncall@example.test")],
                    dashboard_url: None,
                    timeout_secs: 10,
                    ca_pem,
                },
            });
        }
        let admin = Admin::start(
            manager.clone(),
            settings(&clock, &folder.join("alerts.json"), rules),
        )
        .await;
        let send = |id: &'static str| {
            let admin = &admin;
            async move {
                let reply = admin
                    .admin(
                        Method::POST,
                        &format!("{BASE}/alerts/channels/{id}/test"),
                        None,
                    )
                    .await;
                assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
                reply.json()
            }
        };
        let trusted = send("trusted").await;
        assert_eq!(trusted["delivered"], true, "{mode:?}: {trusted}");
        let mails = until("the mail over TLS", || {
            let mails = sink.mails();
            (!mails.is_empty()).then_some(mails)
        })
        .await;
        assert!(mails[0].contains("To: oncall@example.test"), "{}", mails[0]);
        let untrusted = send("untrusted").await;
        assert_eq!(untrusted["delivered"], false, "{mode:?}: {untrusted}");
        let detail = untrusted["detail"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        assert!(detail.contains("certificate"), "{mode:?}: {detail}");
        assert_eq!(sink.mails().len(), 1, "nothing sent without trust");
        admin.stop().await;
    }
}

//! The dashboard in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `scripts/test.sh` installs), driven over
//! WebDriver: sign in, the live regions table, a hit made through the API
//! showing up, a typed-confirmation clear, a refused policy edit shown
//! inline, a rollback, a sensitive region whose values never reach the
//! page. Screenshots go to `target/dashboard-screenshots/`.

mod support;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use support::{ADMIN_SECRET, Admin, CANARY, Scratch, config, manager};

/// A `chromedriver` child on a free loopback port, and the Chromium it
/// starts with `profile` as its user-data folder: both killed on drop,
/// also when a test fails before closing its session.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    fn start(profile: &Path) -> Driver {
        let command = program("CACHE_ADMIN_CHROMEDRIVER", "chromedriver");
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&command)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("{} did not start: {error}", command.display()));
        let driver = Driver {
            child,
            port,
            profile: profile.to_path_buf(),
        };
        let started = Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "chromedriver never listened"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Chromium outlives chromedriver when the session was not closed:
        // its processes are the ones naming this test's profile folder.
        let _ = Command::new("pkill")
            .arg("-KILL")
            .arg("-f")
            .arg(self.profile.as_os_str())
            .status();
    }
}

/// `variable`, else `name` on PATH; a clear message when neither is there.
fn program(variable: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "{name} is not installed: run scripts/test.sh (which installs Debian's chromium and chromium-driver), or set {variable}"
            )
        })
}

/// One browser at a time: each test's Chromium, page and live server
/// compete for the same two cores, so they run one after the other.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn browser(driver: &Driver) -> Client {
    let profile = &driver.profile;
    let chromium =
        std::env::var("CACHE_ADMIN_CHROMIUM").unwrap_or_else(|_| String::from("/usr/bin/chromium"));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        String::from("goog:chromeOptions"),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a browser session")
}

/// Waits until `check` holds (polling every 100 ms, at most 30 s: the
/// machine may be busy with other tests).
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text(client: &Client, css: &str) -> String {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn screenshot(client: &Client, name: &str) {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dashboard-screenshots");
    std::fs::create_dir_all(&folder).expect("screenshot folder");
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(folder.join(format!("{name}.png")), png).expect("screenshot file");
}

/// axe-core's script: `CACHE_ADMIN_AXE`, else where `scripts/test.sh`
/// installs it from the npm registry (a cache folder, not the repository).
fn axe_script() -> String {
    let path = std::env::var_os("CACHE_ADMIN_AXE").map_or_else(
        || {
            let cache = std::env::var_os("XDG_CACHE_HOME").map_or_else(
                || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"),
                PathBuf::from,
            );
            cache.join("cache-admin-tests/npm/node_modules/axe-core/axe.min.js")
        },
        PathBuf::from,
    );
    std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "axe-core is not at {} ({error}): run scripts/test.sh (which installs it with npm into a cache folder), or set CACHE_ADMIN_AXE",
            path.display()
        )
    })
}

/// Runs axe-core on the page now shown: no WCAG 2.0/2.1 A or AA violation.
async fn accessible(client: &Client, axe: &str, page: &str) {
    let violations = axe_violations(client, axe, page).await;
    assert!(
        violations.is_empty(),
        "{page}: WCAG violations: {}",
        serde_json::to_string_pretty(&violations).unwrap_or_default()
    );
}

/// axe-core's WCAG 2.0/2.1 A and AA violations on the page now shown.
async fn axe_violations(client: &Client, axe: &str, page: &str) -> Vec<serde_json::Value> {
    client.execute(axe, vec![]).await.expect("axe-core loads");
    let report = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
              .then((result) => done({
                passes: result.passes.length,
                violations: result.violations.map((v) => ({
                  id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.map((n) => n.target.join(" ")),
                })),
              }))
              .catch((error) => done({ error: String(error) }));"#,
            vec![],
        )
        .await
        .expect("axe-core runs");
    assert!(
        report["error"].is_null(),
        "{page}: axe-core failed: {report}"
    );
    // Not vacuous: the rules ran and some passed.
    let passes = report["passes"].as_u64().unwrap_or(0);
    assert!(
        passes >= 10,
        "{page}: only {passes} axe rules passed: {report}"
    );
    report["violations"].as_array().cloned().expect("a list")
}

/// Signs in as the admin token without the login form (it has its own
/// test), then opens the regions page.
async fn sign_in(client: &Client, url: &str) {
    client.goto(&format!("{url}/login")).await.expect("goto");
    client
        .execute(
            "sessionStorage.setItem('cache-admin-token', arguments[0])",
            vec![serde_json::json!(ADMIN_SECRET)],
        )
        .await
        .expect("sign in");
    client.goto(&format!("{url}/")).await.expect("goto");
}

async fn fill_in(client: &Client, css: &str, value: &str) {
    let field = client.find(Locator::Css(css)).await.expect(css);
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_live_regions_and_acts_on_them() {
    let _one = ONE_BROWSER.lock().await;
    let scratch = Scratch::new("browser");
    let admin = Admin::start(manager(&scratch), config()).await;
    let users = admin
        .manager
        .region_named::<String, String>("admin-users")
        .expect("region");
    for i in 0..30 {
        users.insert(format!("user:{i}"), format!("name {i}")).await;
    }
    let secrets = admin
        .manager
        .region_named::<String, String>("admin-secrets")
        .expect("region");
    secrets
        .insert(format!("key-{CANARY}"), format!("value-{CANARY}"))
        .await;

    let axe = axe_script();
    let driver = Driver::start(&scratch.0.join("chromium-profile"));
    let client = browser(&driver).await;
    let url = admin.url.clone();

    // Without a token, any page sends the person to sign in.
    client.goto(&format!("{url}/")).await.expect("goto");
    until("the login page", || async {
        client
            .current_url()
            .await
            .is_ok_and(|current| current.path() == "/login")
    })
    .await;
    accessible(&client, &axe, "login").await;
    fill_in(&client, "#token", "not-the-token-0123456789").await;
    click(&client, "#login button[type=submit]").await;
    until("the refusal", || async {
        text(&client, "#login-status").await.contains("not valid")
    })
    .await;
    fill_in(&client, "#token", ADMIN_SECRET).await;
    click(&client, "#login button[type=submit]").await;

    // The regions table lists the real regions.
    until("the regions table", || async {
        client
            .find_all(Locator::Css("#regions tbody tr[data-region]"))
            .await
            .is_ok_and(|rows| rows.len() == 3)
    })
    .await;
    let table = text(&client, "#regions").await;
    for region in ["admin-users", "admin-files", "admin-secrets"] {
        assert!(table.contains(region), "{table}");
    }
    // The token is not in the URL.
    let current = client.current_url().await.expect("url");
    assert!(!current.as_str().contains(ADMIN_SECRET), "{current}");

    // A hit made through the API shows up live.
    let hits_cell = "#regions tr[data-region='admin-users'] td[data-field='hits']";
    let before = text(&client, hits_cell).await;
    for _ in 0..7 {
        assert!(users.get(&String::from("user:1")).await.is_some());
    }
    until("the live hit count", || async {
        let now = text(&client, hits_cell).await;
        !now.is_empty() && now != before
    })
    .await;
    // Filtering narrows the table.
    // Without Redis there is no fleet to show.
    let fleet = client.find(Locator::Css("#fleet")).await.expect("section");
    assert!(!fleet.is_displayed().await.expect("displayed?"));
    fill_in(&client, "#filter", "files").await;
    until("the filtered table", || async {
        client
            .find_all(Locator::Css("#regions tbody tr[data-region]"))
            .await
            .is_ok_and(|rows| rows.len() == 1)
    })
    .await;
    // (A prefix every region shares: clearing a field through WebDriver
    // sends no input event.)
    fill_in(&client, "#filter", "admin").await;
    until("the whole table again", || async {
        client
            .find_all(Locator::Css("#regions tbody tr[data-region]"))
            .await
            .is_ok_and(|rows| rows.len() == 3)
    })
    .await;
    screenshot(&client, "regions").await;
    accessible(&client, &axe, "regions").await;

    // A region's page: entries, then a clear that needs the typed name.
    client
        .goto(&format!("{url}/regions/admin-users"))
        .await
        .expect("goto");
    until("the entries", || async {
        text(&client, "#entries-status")
            .await
            .contains("entries shown")
    })
    .await;
    // Gets made through the API while the page watches: the chart's last
    // second shows hits and misses.
    until("hits and misses in the live chart", || async {
        users.get(&String::from("user:2")).await;
        users.get(&String::from("absent")).await;
        let now = text(&client, "#chart-gets-text").await;
        now.starts_with("Now: hits") && !now.contains("hits 0/s") && !now.contains("misses 0/s")
    })
    .await;
    screenshot(&client, "region").await;
    accessible(&client, &axe, "region").await;
    fill_in(&client, "#clear input[name=confirm]", "admin-user").await;
    click(&client, "#clear button[type=submit]").await;
    until("the refused confirmation", || async {
        text(&client, "#clear .status").await.contains("exactly")
    })
    .await;
    assert_eq!(users.len(), Some(30), "nothing cleared without the name");
    fill_in(&client, "#clear input[name=confirm]", "admin-users").await;
    click(&client, "#clear button[type=submit]").await;
    until("the clear", || async {
        text(&client, "#clear .status").await.contains("Removed 30")
    })
    .await;
    users.run_pending_tasks();
    assert_eq!(users.len(), Some(0), "cleared, as the API sees it");

    // A bad policy edit shows the API's error inline and changes nothing.
    let ttl_before = admin.manager.settings("admin-users").expect("settings").ttl;
    fill_in(&client, "#policy input[name=ttl]", "ten minutes").await;
    click(&client, "#policy button[type=submit]").await;
    until("the inline error", || async {
        text(&client, "#policy .status")
            .await
            .contains("not a valid duration")
    })
    .await;
    assert_eq!(
        admin.manager.settings("admin-users").expect("settings").ttl,
        ttl_before
    );

    // Two good edits, then a rollback to the first from the history list.
    for ttl in ["20m", "30m"] {
        fill_in(&client, "#policy input[name=ttl]", ttl).await;
        until("the diff", || async {
            text(&client, "#policy .diff").await.contains(ttl)
        })
        .await;
        click(&client, "#policy button[type=submit]").await;
        until("the applied change", || async {
            text(&client, "#policy .status").await.contains("Applied")
        })
        .await;
    }
    let ttl = |manager: &cache_runtime::CacheManager| {
        manager.settings("admin-users").expect("settings").ttl
    };
    assert_eq!(ttl(&admin.manager), Some(Duration::from_secs(1800)));
    until("the history", || async {
        client
            .find(Locator::XPath("//button[text()='Roll back to 1']"))
            .await
            .is_ok()
    })
    .await;
    client
        .find(Locator::XPath("//button[text()='Roll back to 1']"))
        .await
        .expect("rollback button")
        .click()
        .await
        .expect("click");
    until("the rollback", || async {
        text(&client, "#history-status")
            .await
            .contains("Rolled back")
    })
    .await;
    assert_eq!(ttl(&admin.manager), Some(Duration::from_secs(1200)));

    // A sensitive region: browsing is refused with the reason, and its
    // keys and values never reach the page.
    client
        .goto(&format!("{url}/regions/admin-secrets"))
        .await
        .expect("goto");
    until("the refusal", || async {
        text(&client, "#entries-status").await.contains("sensitive")
    })
    .await;
    let source = client.source().await.expect("page source");
    assert!(
        !source.contains(CANARY),
        "a sensitive value reached the page"
    );
    screenshot(&client, "sensitive-region").await;
    accessible(&client, &axe, "sensitive region").await;

    // The check itself sees a problem when there is one: an input
    // without a label.
    client
        .execute(
            "document.getElementById('main').append(document.createElement('input'))",
            vec![],
        )
        .await
        .expect("an unlabelled input");
    let violations = axe_violations(&client, &axe, "a broken page").await;
    assert!(
        violations.iter().any(|v| v["id"] == "label"),
        "{violations:?}"
    );

    client.close().await.expect("close the browser");
    admin.stop().await;
}

/// 100 regions with live traffic: prints the time to the first render of
/// the table and what an update (table and heatmap) costs in the page, as
/// the browser's own performance marks measure them. Reports only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_regions_render_and_update() {
    let _one = ONE_BROWSER.lock().await;
    use cache_runtime::manager::RegionCodecs;
    use cache_runtime::{CacheManager, RegionDescriptor};

    let scratch = Scratch::new("browser-100");
    let mut builder = CacheManager::builder()
        .without_linked_regions()
        .without_config_env()
        .background_stats(false)
        .disk_root(scratch.0.join("disk"));
    for i in 0..100 {
        builder = builder.region_with(
            RegionDescriptor::builder(format!("region-{i:03}"))
                .max_entries(1_000)
                .build()
                .expect("descriptor"),
            RegionCodecs::<String, String>::serde(),
        );
    }
    let manager = builder.build().expect("manager");
    let handles: Vec<_> = (0..100)
        .map(|i| {
            manager
                .region_named::<String, String>(&format!("region-{i:03}"))
                .expect("region")
        })
        .collect();
    for (i, handle) in handles.iter().enumerate() {
        for key in 0..(i * 5) {
            handle.insert(format!("k{key}"), String::from("v")).await;
        }
    }
    let admin = Admin::start(manager, config()).await;
    let traffic = tokio::spawn(async move {
        for round in 0u64.. {
            for handle in &handles {
                handle.get(&format!("k{}", round % 7)).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });

    let driver = Driver::start(&scratch.0.join("chromium-profile"));
    let client = browser(&driver).await;
    sign_in(&client, &admin.url).await;
    until("100 rows", || async {
        client
            .find_all(Locator::Css("#regions tbody tr[data-region]"))
            .await
            .is_ok_and(|rows| rows.len() == 100)
    })
    .await;
    until("ten live updates", || async {
        client
            .execute(
                "return performance.getEntriesByName('cache-admin:update').length",
                vec![],
            )
            .await
            .ok()
            .and_then(|count| count.as_u64())
            .is_some_and(|count| count >= 10)
    })
    .await;
    let timings = client
        .execute(
            r#"const first = performance.getEntriesByName("cache-admin:first-render")[0];
            const updates = performance.getEntriesByName("cache-admin:update").map((e) => e.duration).sort((a, b) => a - b);
            return { first_render_ms: first.startTime, updates: updates.length,
                     update_median_ms: updates[Math.floor(updates.length / 2)],
                     update_max_ms: updates[updates.length - 1] };"#,
            vec![],
        )
        .await
        .expect("timings");
    println!("dashboard, 100 regions: {timings}");
    assert!(
        timings["first_render_ms"]
            .as_f64()
            .is_some_and(|ms| ms > 0.0)
    );
    screenshot(&client, "regions-100").await;
    client.close().await.expect("close the browser");
    traffic.abort();
    admin.stop().await;
}

/// What the ephemeral servers share (a free port, waiting until ready).
#[cfg(feature = "redis")]
#[path = "../../cache-runtime/src/test_support/server.rs"]
#[allow(dead_code)]
mod server;

/// An ephemeral `redis-server`, killed on drop.
#[cfg(feature = "redis")]
#[path = "../../cache-runtime/src/test_support/redis.rs"]
#[allow(dead_code)]
mod redis_server;

/// A Redis region in the dashboard: listed with its tier, browsed a page at
/// a time over Redis' SCAN ("load more"), an entry deleted from the page
/// is gone from Redis.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_region_is_browsed_and_edited_in_the_dashboard() {
    let _one = ONE_BROWSER.lock().await;
    use cache_runtime::config::Tier;
    use cache_runtime::manager::RegionCodecs;
    use cache_runtime::redis::RedisConfig;
    use cache_runtime::{CacheManager, RegionDescriptor};

    let redis = redis_server::RedisServer::start();
    let scratch = Scratch::new("browser-redis");
    let manager = CacheManager::builder()
        .without_linked_regions()
        .without_config_env()
        .background_stats(false)
        .disk_root(scratch.0.join("disk"))
        .redis(RedisConfig::new(redis.url()).prefix("dashboard"))
        .region_with(
            RegionDescriptor::builder("shared-sessions")
                .tier(Tier::Redis)
                .build()
                .expect("descriptor"),
            RegionCodecs::<String, String>::serde(),
        )
        .build()
        .expect("manager");
    let sessions = manager
        .region_named::<String, String>("shared-sessions")
        .expect("region");
    // Enough keys that Redis' SCAN needs several calls (with a few dozen
    // it may answer every key at once, whatever the count asked).
    for i in 0..300 {
        sessions
            .insert(format!("session:{i:03}"), format!("user {i}"))
            .await;
    }
    assert!(sessions.get(&String::from("session:001")).await.is_some());
    manager
        .flush_fleet_stats()
        .await
        .expect("fleet figures flushed");
    let admin = Admin::start(manager, config()).await;

    let driver = Driver::start(&scratch.0.join("chromium-profile"));
    let client = browser(&driver).await;
    sign_in(&client, &admin.url).await;
    until("the Redis region's row", || async {
        text(&client, "#regions tr[data-region='shared-sessions']")
            .await
            .contains("redis")
    })
    .await;
    // With Redis, the fleet's figures are shown too.
    until("the fleet section", || async {
        text(&client, "#fleet-table tr[data-region='shared-sessions']")
            .await
            .contains("100.0 %")
    })
    .await;

    client
        .goto(&format!("{}/regions/shared-sessions", admin.url))
        .await
        .expect("goto");
    let rows = |client: &Client| {
        let client = client.clone();
        async move {
            client
                .find_all(Locator::Css("#entries tbody tr"))
                .await
                .map_or(0, |rows| rows.len())
        }
    };
    // Pages of about 50 (SCAN's count is a hint: page sizes vary), then
    // "load more" until the cursor ends.
    let mut pages = 0;
    let mut status = String::new();
    loop {
        let previous = status.clone();
        let started = Instant::now();
        loop {
            status = text(&client, "#entries-status").await;
            if status.contains("entries shown") && status != previous {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no next page after {previous:?}: {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        pages += 1;
        if !status.contains("more to load") {
            break;
        }
        click(&client, "#more").await;
        assert!(pages < 20, "the cursor never ended");
    }
    assert!(
        pages >= 2,
        "300 entries take more than one page of about 50"
    );
    assert_eq!(rows(&client).await, 300);
    let table = text(&client, "#entries").await;
    assert!(
        table.contains("session:007") && table.contains("redis"),
        "{table}"
    );

    client
        .find(Locator::Css("button[aria-label='Delete session:007']"))
        .await
        .expect("the delete button")
        .click()
        .await
        .expect("click");
    until("the deletion", || async {
        text(&client, "#entries-status")
            .await
            .contains("Deleted session:007")
    })
    .await;
    assert_eq!(sessions.get(&String::from("session:007")).await, None);
    accessible(&client, &axe_script(), "Redis region").await;
    client.close().await.expect("close the browser");
    admin.stop().await;
}

/// Alerts in the dashboard: the banner on every page, the regions table's
/// status, the region's own alerts and the hit-rate threshold on its chart,
/// and the alerts page: a silence made and ended from a form, a channel's
/// test send, a refused rules change shown field by field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_show_on_every_page_and_are_silenced_from_the_dashboard() {
    use cache_admin::AlertSettings;
    use cache_admin::alerts::{AlertRules, ChannelConfig, ChannelTarget, Override};

    let _one = ONE_BROWSER.lock().await;
    let scratch = Scratch::new("browser-alerts");
    let (hook, received, _server) = support::receiver(0).await;
    // Memory above 0.1 % of the limit on admin-users fires at once; the
    // hit-rate rule stays quiet (it needs a million gets) but its
    // threshold is drawn.
    let mut rules = AlertRules::default();
    for rule in &mut rules.rules {
        rule.enabled = rule.id == "memory_high" || rule.id == "hit_rate_low";
        rule.for_secs = 0;
        rule.min_requests = 1_000_000;
        if rule.id == "memory_high" {
            rule.overrides.insert(
                String::from("admin-users"),
                Override {
                    threshold: Some(0.1),
                    recover: Some(0.05),
                    enabled: None,
                },
            );
        }
    }
    rules.channels.push(ChannelConfig {
        id: String::from("ops-hook"),
        target: ChannelTarget::Webhook {
            url: hook,
            hmac_key: None,
            timeout_secs: 5,
            retries: 0,
            ca_pem: None,
        },
    });
    let admin = Admin::start(
        manager(&scratch),
        config().alerts(
            AlertSettings::new()
                .rules(rules)
                .evaluate_every(Duration::from_millis(50)),
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

    let axe = axe_script();
    let driver = Driver::start(&scratch.0.join("chromium-profile"));
    let client = browser(&driver).await;
    let url = admin.url.clone();
    sign_in(&client, &url).await;

    // The banner and the table's status.
    until("the banner", || async {
        text(&client, "#alert-banner")
            .await
            .contains("memory_high on region admin-users")
    })
    .await;
    until("the status cell", || async {
        text(&client, "#regions tr[data-region='admin-users']")
            .await
            .contains("1 firing")
    })
    .await;
    assert!(
        text(&client, "#regions tr[data-region='admin-files']")
            .await
            .contains("ok"),
        "{}",
        text(&client, "#regions").await
    );
    accessible(&client, &axe, "regions with an alert").await;

    // The region page: its alert, the threshold on the hit-rate chart, the
    // history chart.
    client
        .goto(&format!("{url}/regions/admin-users"))
        .await
        .expect("goto");
    until("the region's alerts", || async {
        text(&client, "#region-alerts")
            .await
            .contains("memory_high")
    })
    .await;
    until("the threshold line", || async {
        client
            .find(Locator::Css("#chart-rate line.threshold"))
            .await
            .is_ok()
    })
    .await;
    until("the history chart's text", || async {
        let text = text(&client, "#chart-history-text").await;
        !text.is_empty() && !text.contains("Loading")
    })
    .await;
    accessible(&client, &axe, "region with an alert").await;

    // The alerts page.
    client.goto(&format!("{url}/alerts")).await.expect("goto");
    until("the active alerts", || async {
        text(&client, "#active").await.contains("memory_high")
    })
    .await;
    accessible(&client, &axe, "alerts").await;
    fill_in(
        &client,
        "#silence input[name=matchers]",
        "region=admin-users",
    )
    .await;
    fill_in(&client, "#silence input[name=comment]", "browser test").await;
    click(&client, "#silence button[type=submit]").await;
    until("the silence", || async {
        text(&client, "#silences").await.contains("browser test")
            && text(&client, "#active").await.contains("silenced")
    })
    .await;
    screenshot(&client, "alerts").await;
    click(&client, "#silences button").await;
    until("the silence expired", || async {
        text(&client, "#silences").await.contains("expired")
    })
    .await;

    // The channel's test send reaches the receiver.
    click(&client, "#channels button").await;
    until("the test send", || async {
        text(&client, "#channels-status")
            .await
            .contains("delivered")
    })
    .await;
    assert_eq!(
        received
            .all()
            .iter()
            .filter(|(_, body, _)| body["alerts"][0]["labels"]["alertname"] == "test")
            .count(),
        1
    );

    // A bad threshold is refused, field by field, and changes nothing.
    until("the rules document", || async {
        client
            .execute(
                "return document.querySelector('#rules textarea').value.includes('hit_rate_low')",
                vec![],
            )
            .await
            .is_ok_and(|loaded| loaded == serde_json::json!(true))
    })
    .await;
    client
        .execute(
            "const area = document.querySelector('#rules textarea');
             const doc = JSON.parse(area.value);
             doc.rules[0].threshold = 7;
             area.value = JSON.stringify(doc);",
            vec![],
        )
        .await
        .expect("edit the rules");
    click(&client, "#rules button[type=submit]").await;
    until("the inline problem", || async {
        text(&client, "#rules .problems")
            .await
            .contains("rules[0].threshold")
    })
    .await;
    let version = admin.read("/api/config/caching/alerts/rules").await.json()["version"].clone();
    assert_eq!(version, 0);
    client.close().await.expect("close");
    admin.stop().await;
}

//! A served admin API over a real manager, and clients with each role.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cache_admin::client::{Client, Reply};
use cache_admin::{AdminConfig, AdminServer, Role, Token};
use cache_runtime::config::Tier;
use cache_runtime::manager::RegionCodecs;
use cache_runtime::{CacheManager, RegionDescriptor};
use hyper::Method;

pub const READ_SECRET: &str = "read-secret-0123456789";
pub const ADMIN_SECRET: &str = "admin-secret-0123456789";
/// Stored in the sensitive region; must never appear in any answer.
pub const CANARY: &str = "canary-7f3a9c1e-never-shown";

/// A scratch folder, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let path =
            std::env::temp_dir().join(format!("cache-admin-tests-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("scratch folder");
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A manager with a memory region, a disk region and a sensitive one.
pub fn manager(scratch: &Scratch) -> CacheManager {
    CacheManager::builder()
        .without_linked_regions()
        .without_config_env()
        .background_stats(false)
        .disk_root(scratch.0.join("disk"))
        .write_behind(0)
        .region_with(
            RegionDescriptor::builder("admin-users")
                .description("Users by id")
                .max_entries(1_000)
                .build()
                .expect("descriptor"),
            RegionCodecs::<String, String>::serde(),
        )
        .region_with(
            RegionDescriptor::builder("admin-files")
                .tier(Tier::Disk)
                .build()
                .expect("descriptor"),
            RegionCodecs::<String, Vec<u32>>::serde(),
        )
        .region_with(
            RegionDescriptor::builder("admin-secrets")
                .sensitive(true)
                .build()
                .expect("descriptor"),
            RegionCodecs::<String, String>::serde(),
        )
        .build()
        .expect("manager")
}

/// The API served on a free loopback port, and every answer it gave.
pub struct Admin {
    pub server: Option<AdminServer>,
    pub manager: CacheManager,
    pub url: String,
    answers: Arc<Mutex<Vec<String>>>,
}

/// Tokens for both roles on a free port; the disk's free space never
/// degrades health here (test machines' disks may be nearly full; the
/// test for that threshold sets it itself).
pub fn config() -> AdminConfig {
    AdminConfig::new()
        .disk_min_free(0.0)
        .bind("127.0.0.1:0".parse().expect("address"))
        .token(Token::new("reader", Role::Read, READ_SECRET).expect("token"))
        .token(Token::new("ops-alice", Role::Admin, ADMIN_SECRET).expect("token"))
}

impl Admin {
    pub async fn start(manager: CacheManager, config: AdminConfig) -> Admin {
        let server = cache_admin::serve(manager.clone(), config)
            .await
            .expect("serves");
        Admin {
            url: server.url(),
            server: Some(server),
            manager,
            answers: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn client(&self, secret: Option<&str>) -> Client {
        Client::new(&self.url, secret.map(str::to_owned)).expect("client")
    }

    /// A request with `secret` (none: anonymous); the answer is kept for
    /// the canary check.
    pub async fn call(
        &self,
        secret: Option<&str>,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let reply = self
            .client(secret)
            .send(method, path, body.as_ref(), headers)
            .await
            .expect("an answer");
        let mut kept = format!("{path} -> {}: ", reply.status);
        for (name, value) in &reply.headers {
            kept.push_str(&format!("{name}: {value:?}; "));
        }
        kept.push_str(&reply.text());
        self.answers.lock().expect("answers").push(kept);
        reply
    }

    pub async fn read(&self, path: &str) -> Reply {
        self.call(Some(READ_SECRET), Method::GET, path, None, &[])
            .await
    }

    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Reply {
        self.call(Some(ADMIN_SECRET), method, path, body, &[]).await
    }

    /// Every answer so far.
    pub fn answers(&self) -> Vec<String> {
        self.answers.lock().expect("answers").clone()
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// A webhook receiver, for alert notifications.
mod hooks {
    use std::sync::{Arc, Mutex};

    use axum::http::{HeaderMap, StatusCode as AxumStatus};
    use serde_json::Value;

    /// What the webhook receiver got.
    #[derive(Clone, Default)]
    pub struct Received(Arc<Mutex<Vec<Hook>>>);

    /// One webhook request: headers, body as JSON, body as sent.
    pub type Hook = (HeaderMap, Value, Vec<u8>);

    impl Received {
        pub fn all(&self) -> Vec<Hook> {
            self.0.lock().expect("received").clone()
        }
    }

    /// A webhook receiver on a free loopback port that refuses its first
    /// `fail_first` requests with 503.
    pub async fn receiver(fail_first: usize) -> (String, Received, tokio::task::JoinHandle<()>) {
        let received = Received::default();
        let kept = received.clone();
        let failures = Arc::new(Mutex::new(fail_first));
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let kept = kept.clone();
                let failures = Arc::clone(&failures);
                async move {
                    let mut left = failures.lock().expect("failures");
                    if *left > 0 {
                        *left -= 1;
                        return AxumStatus::SERVICE_UNAVAILABLE;
                    }
                    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    kept.0
                        .lock()
                        .expect("received")
                        .push((headers, value, body.to_vec()));
                    AxumStatus::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (url, received, task)
    }
}

#[allow(unused_imports)]
pub use hooks::{Hook, Received, receiver};

/// Every `tracing` event of this test process, as `target: field=value ...`
/// lines (installed once, as the global subscriber, by [`log_lines`]).
pub fn log_lines() -> Vec<String> {
    capture::install();
    capture::LINES.lock().expect("log lines").clone()
}

/// Starts capturing log events (call before the requests to watch).
pub fn capture_logs() {
    capture::install();
}

mod capture {
    use std::fmt::Write as _;
    use std::sync::{Mutex, Once};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    pub static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

    pub fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            tracing::subscriber::set_global_default(Capture).expect("the only subscriber");
        });
    }

    struct Capture;

    struct Line(String);

    impl Visit for Line {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut line = Line(format!("{}:", event.metadata().target()));
            event.record(&mut line);
            LINES.lock().expect("log lines").push(line.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
}

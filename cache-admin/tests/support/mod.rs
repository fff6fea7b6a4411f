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

pub fn config() -> AdminConfig {
    AdminConfig::new()
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

//! Quickstart: the regions a small AI gateway would declare, the registry
//! the linker collected for them (printed as a table), and the cache
//! manager serving requests from them: single-flight loads, a policy,
//! statistics, events and browsing; then the admin HTTP API on loopback
//! and the `cache-admin` tool driving it. Memory tier only: nothing to
//! install.
//!
//! Run it with `cargo run -p cache-examples --example quickstart`; add
//! `-- --serve` to keep the admin API up until Ctrl-C.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_admin::{AdminConfig, Role, Token};
use cache_runtime::{
    CacheError, CacheManager, CachePolicy, ConfigLayer, RegionDescriptor, cache_config_provider,
    cache_region,
    config::{ConfigChange, RegionOptions, format_duration, format_size},
    custom_cache_region,
    manager::EntryQuery,
    registry::RegistryBuilder,
    try_registry,
};

/// A virtual API key handed to a tenant.
#[derive(Clone, Debug)]
pub struct VirtualKey {
    /// The tenant the key belongs to.
    pub tenant: String,
    /// Models the key may call.
    pub allowed_models: Vec<String>,
}

/// What a provider says about one model (serde: the region persists).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ModelInfo {
    /// Context window in tokens.
    pub context_tokens: u32,
}

/// Virtual keys: sensitive, short-lived, memory only.
#[cache_region(name = "virtual-keys", key = String, value = VirtualKey,
               preset = "security-critical", description = "API keys by hash")]
pub struct VirtualKeys;

/// Per-tenant request counters for rate limiting.
#[cache_region(name = "rate-limits", key = String, value = u32,
               preset = "high-frequency", ttl = "1m", description = "request counters per tenant")]
pub struct RateLimits;

/// Model lists of each upstream provider, in memory in front of disk.
#[cache_region(name = "model-metadata", key = String, value = Vec<ModelInfo>,
               ttl = "1h", max_entries = 10_000, tier = "hybrid", compression = "lz4",
               description = "provider model lists")]
pub struct ModelMetadata;

/// Discovered upstream endpoints, kept on disk across restarts.
#[cache_region(name = "discovery-results", key = String, value = Vec<String>,
               tier = "disk", ttl = "1d", version = 2,
               description = "upstream endpoints found by discovery")]
pub struct DiscoveryResults;

/// Quotas are never cached at zero: a zero means "ask again".
#[derive(Default)]
pub struct QuotaPolicy;

impl CachePolicy<String, u64> for QuotaPolicy {
    fn admit(&self, _tenant: &String, remaining: &u64) -> bool {
        *remaining > 0
    }
}

/// Remaining quota per tenant, with its own admission policy.
#[custom_cache_region(name = "tenant-quotas", key = String, value = u64,
                      policy = QuotaPolicy, ttl = "30s", description = "remaining quota per tenant")]
pub struct TenantQuotas;

/// Operators can shorten the model-metadata TTL without a rebuild.
#[cache_config_provider(priority = 10, name = "env-overrides")]
fn env_overrides() -> ConfigLayer {
    let mut layer = ConfigLayer::new();
    if let Some(ttl) = std::env::var("MODEL_METADATA_TTL")
        .ok()
        .and_then(|text| cache_runtime::config::parse_duration(&text).ok())
    {
        layer.set(
            "model-metadata",
            RegionOptions {
                ttl: Some(ttl),
                ..RegionOptions::EMPTY
            },
        );
    }
    layer
}

#[tokio::main]
async fn main() -> ExitCode {
    // The link-time registry: built on this first call, nothing ran before main.
    let registry = match try_registry() {
        Ok(registry) => registry,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };

    // A region registered by hand, for code that cannot use the attribute.
    let plugin_cache = RegionDescriptor::builder("plugin-manifests")
        .key::<String>()
        .value::<String>()
        .ttl(Duration::from_secs(600))
        .description("plugin manifests (registered by hand)")
        .build();
    let with_plugins = plugin_cache
        .map_err(|error| error.to_string())
        .and_then(|region| {
            RegistryBuilder::linked()
                .region(region)
                .build()
                .map_err(|error| error.to_string())
        });
    let full = match with_plugins {
        Ok(full) => full,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };

    println!(
        "{} regions linked, {} with hand-registered ones, {} config provider(s)\n",
        registry.len(),
        full.len(),
        registry.providers().len()
    );
    print_table(full.iter());

    println!();
    for provider in registry.providers() {
        match provider.load() {
            Ok(layer) => println!(
                "provider {:<14} priority {:>3}  sets {} region(s)  declared at {}",
                provider.name(),
                provider.priority(),
                layer.regions().count(),
                provider.site()
            ),
            Err(error) => println!("{error}"),
        }
    }

    let typed = registry.region::<ModelMetadata>().map(|r| r.name());
    println!("\nregistry().region::<ModelMetadata>() -> {typed:?} (no name lookup)");

    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The manager at work on the memory regions.
async fn serve() -> Result<(), CacheError> {
    // Run-time configuration changes are kept in a file (in Redis with a
    // connection); this demo keeps its own, removed at the end.
    let config_state =
        std::env::temp_dir().join(format!("quickstart-config-{}.json", std::process::id()));
    let manager = CacheManager::builder()
        .config_state_file(&config_state)
        .build()?;
    let mut events = manager.subscribe();

    // 100 requests for one provider's model list at once: one fetch.
    let rate_limits = manager.region::<RateLimits>()?;
    let fetches = Arc::new(AtomicUsize::new(0));
    let mut requests = Vec::new();
    for _ in 0..100 {
        let rate_limits = rate_limits.clone();
        let fetches = Arc::clone(&fetches);
        requests.push(tokio::spawn(async move {
            rate_limits
                .get_or_insert_with("tenant-a".to_owned(), || async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await; // the slow upstream
                    60
                })
                .await
        }));
    }
    for request in requests {
        let _ = request.await;
    }
    println!(
        "\n100 concurrent get_or_insert_with(\"tenant-a\") -> {} load(s)",
        fetches.load(Ordering::SeqCst)
    );
    for tenant in ["tenant-b", "tenant-c", "admin-1"] {
        rate_limits.insert(tenant.to_owned(), 10).await;
    }
    // Warm traffic: hits.
    for _ in 0..1_000 {
        let _ = rate_limits.get(&"tenant-a".to_owned()).await;
    }
    let _ = rate_limits.get(&"nobody".to_owned()).await;

    // The quota policy refuses zeros: "ask again" is never cached.
    let quotas = manager.region::<TenantQuotas>()?;
    let kept = quotas.insert("tenant-a".into(), 500).await;
    let refused = !quotas.insert("tenant-b".into(), 0).await;
    println!("tenant-quotas: 500 cached: {kept}, 0 refused by QuotaPolicy: {refused}");

    // What an admin tool sees, by name.
    let page = manager
        .entries("rate-limits", &EntryQuery::first(10).matching("tenant-*"))
        .await?;
    let shown: Vec<String> = page
        .entries
        .iter()
        .map(|entry| format!("{}={}", entry.key, entry.value))
        .collect();
    println!(
        "entries(\"rate-limits\", \"tenant-*\") -> {}",
        shown.join(", ")
    );
    let keys = manager.region::<VirtualKeys>()?;
    keys.insert(
        "sha256:9f2c".into(),
        VirtualKey {
            tenant: "a".into(),
            allowed_models: vec![],
        },
    )
    .await;
    if let Err(refusal) = manager
        .entries("virtual-keys", &EntryQuery::first(10))
        .await
    {
        println!("entries(\"virtual-keys\") -> {refusal}");
    }
    println!(
        "clear_matching(\"rate-limits\", \"admin-*\") -> {} removed",
        manager.clear_matching("rate-limits", "admin-*").await?
    );

    let stats = manager.stats("rate-limits")?;
    println!(
        "rate-limits: {} gets, {} hits, hit rate {:.2}, {} loads, {} inserts, {} entries",
        stats.gets(),
        stats.hits,
        stats.hit_rate.unwrap_or(0.0),
        stats.loads_succeeded,
        stats.inserts,
        count(stats.entries)
    );

    // Dynamic configuration: checked as a whole, applied without restart,
    // recorded; `explain` says which layer set each value.
    let change = ConfigChange::new("quickstart", "limits change every few seconds now")
        .set("rate-limits", "ttl", "5s")
        .set("rate-limits", "max_entries", 50_000);
    let record = manager.configure(change).await?;
    for field in &record.changes {
        println!(
            "config v{}: rate-limits {} {} -> {}",
            record.version, field.field, field.before, field.after
        );
    }
    print!("{}", manager.explain("rate-limits")?);
    let typo = ConfigChange::new("quickstart", "typo").set("rate-limits", "ttl", "5 secs");
    if let Err(refused) = manager.configure(typo).await {
        println!("refused: {refused}");
    }
    println!(
        "rate-limits still holds {} entries after the change",
        count(rate_limits.len())
    );

    let mut seen = 0;
    while let Ok(event) = events.try_recv() {
        seen += 1;
        if seen <= 3 {
            println!("event: {} {:?} {:?}", event.region, event.kind, event.key);
        }
    }
    println!(
        "... {seen} events in all; Prometheus text: {} lines",
        manager.prometheus().lines().count()
    );

    admin_api(&manager).await;
    manager.shutdown()?;
    let _ = std::fs::remove_file(&config_state);
    Ok(())
}

/// The admin API on loopback, and the `cache-admin` tool against it.
/// With `--serve`, it stays up until Ctrl-C so you can try the tool
/// yourself.
async fn admin_api(manager: &CacheManager) {
    let token_file =
        std::env::temp_dir().join(format!("quickstart-admin-token-{}", std::process::id()));
    let secret = fresh_secret();
    let token = match Token::new("quickstart", Role::Admin, &secret) {
        Ok(token) => token,
        Err(error) => return eprintln!("admin API not started: {error}"),
    };
    if let Err(error) = std::fs::write(&token_file, format!("quickstart admin {secret}\n")) {
        return eprintln!(
            "admin API not started: cannot write {}: {error}",
            token_file.display()
        );
    }
    let config = AdminConfig::new().token(token);
    // The default port, or any free one when it is taken.
    let server = match cache_admin::serve(manager.clone(), config.clone()).await {
        Ok(server) => server,
        Err(_) => {
            let any = config.bind(([127, 0, 0, 1], 0).into());
            match cache_admin::serve(manager.clone(), any).await {
                Ok(server) => server,
                Err(error) => return eprintln!("admin API not started: {error}"),
            }
        }
    };
    let url = server.url();
    println!(
        "\nadmin API on {url} (token file {}, removed at exit)",
        token_file.display()
    );
    let token_path = token_file.display().to_string();
    for command in [
        vec!["regions"],
        vec!["stats", "rate-limits", "--window", "1m"],
        vec!["entries", "rate-limits", "--match", "tenant-*"],
        vec![
            "clear",
            "rate-limits",
            "--match",
            "tenant-c",
            "--reason",
            "demo",
        ],
        vec!["policy", "rate-limits", "--ttl", "ten minutes"],
        vec!["audit"],
    ] {
        println!(
            "\n$ cache-admin --url {url} --token-file {token_path} {}",
            command.join(" ")
        );
        let mut args = vec![
            "cache-admin".to_owned(),
            "--url".to_owned(),
            url.clone(),
            "--token-file".to_owned(),
            token_path.clone(),
        ];
        args.extend(command.iter().map(|arg| (*arg).to_owned()));
        // The tool runs its own runtime: on a plain thread.
        let code = std::thread::spawn(move || cache_admin::cli::run(args))
            .join()
            .unwrap_or(cache_admin::cli::UNAVAILABLE);
        if code != cache_admin::cli::OK {
            println!("(exit code {code})");
        }
    }
    if std::env::args().any(|arg| arg == "--serve") {
        println!(
            "\nserving until Ctrl-C; try: cargo run -p cache-admin -- --url {url} --token-file {token_path} regions"
        );
        let _ = tokio::signal::ctrl_c().await;
    }
    server.shutdown().await;
    let _ = std::fs::remove_file(&token_file);
}

/// A secret for the demo's token: 32 hex digits from the system's random
/// source (or, without one, from the clock and the process).
fn fresh_secret() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let read =
        std::fs::File::open("/dev/urandom").and_then(|mut random| random.read_exact(&mut bytes));
    if read.is_err() {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|since| since.as_nanos())
                .unwrap_or_default(),
        );
        hasher.write_u32(std::process::id());
        bytes[..8].copy_from_slice(&hasher.finish().to_le_bytes());
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn print_table<'a>(regions: impl Iterator<Item = &'a RegionDescriptor>) {
    let header = [
        "REGION",
        "KEY -> VALUE",
        "TIER",
        "TTL",
        "LIMIT",
        "FLAGS",
        "DECLARED AT",
    ];
    let rows: Vec<[String; 7]> = regions
        .map(|region| {
            let settings = region.settings();
            let types = format!(
                "{} -> {}",
                region.key_type().unwrap_or("?"),
                region.value_type().unwrap_or("?")
            );
            let limit = match (settings.max_entries, settings.max_bytes) {
                (_, Some(bytes)) => format_size(bytes),
                (Some(entries), None) => format!("{entries} entries"),
                (None, None) => "unbounded".into(),
            };
            let mut flags = Vec::new();
            if let Some(preset) = region.preset() {
                flags.push(preset.as_str().to_string());
            }
            if settings.sensitive {
                flags.push("sensitive".into());
            }
            if settings.compression.codec != cache_runtime::config::Codec::None {
                flags.push(settings.compression.codec.as_str().to_string());
            }
            if let Some(policy) = region.policy() {
                flags.push(format!("policy {}", policy.type_name()));
            }
            [
                region.name().to_string(),
                types,
                settings.tier.to_string(),
                settings
                    .ttl
                    .map(format_duration)
                    .unwrap_or_else(|| "-".into()),
                limit,
                flags.join(", "),
                region.site().to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: &[String; 7]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(&header.map(String::from));
    for row in &rows {
        line(row);
    }
}

/// A count, or "unknown" where the tier cannot count (Redis).
fn count(entries: Option<u64>) -> String {
    entries.map_or_else(|| "unknown".to_owned(), |n| n.to_string())
}

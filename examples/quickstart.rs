//! Quickstart: the regions a small AI gateway would declare, and the
//! registry the linker collected for them, printed as a table.
//!
//! Run it with `cargo run -p cache-examples --example quickstart`.

use std::process::ExitCode;
use std::time::Duration;

use cache_runtime::{
    CachePolicy, ConfigLayer, RegionDescriptor, RegionOptions, RegistryBuilder,
    cache_config_provider, cache_region, custom_cache_region, format_duration, format_size,
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

/// What a provider says about one model.
#[derive(Clone, Debug)]
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

/// Model lists of each upstream provider, in memory in front of Redis.
#[cache_region(name = "model-metadata", key = String, value = Vec<ModelInfo>,
               ttl = "1h", max_entries = 10_000, tier = "hybrid", compression = "zstd",
               description = "provider model lists")]
pub struct ModelMetadata;

/// Discovered upstream endpoints, kept on disk across restarts.
#[cache_region(name = "discovery-results", key = String, value = Vec<String>,
               tier = "disk", ttl = "1d", max_bytes = "64MiB", version = 2,
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
        .and_then(|text| cache_runtime::parse_duration(&text).ok())
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

fn main() -> ExitCode {
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
    ExitCode::SUCCESS
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
            if settings.compression.codec != cache_runtime::Codec::None {
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

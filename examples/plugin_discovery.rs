//! Plugin discovery with `RegistryCache`: reading and parsing 2,000 plugin
//! manifests on every start, versus once, then from the cache file until the
//! plugin folder changes.
//!
//! Run it with `cargo run -p cache-examples --example plugin_discovery`
//! (add `--release` for optimized timings). It works in a temporary folder
//! that it removes when done.

use std::error::Error;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cache_runtime::discovery::{Outcome, RegistryCache};
use serde::{Deserialize, Serialize};

/// How many plugins the example installs.
const PLUGINS: usize = 2_000;

/// What a plugin's manifest declares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Plugin {
    name: String,
    version: String,
    entry_point: String,
    capabilities: Vec<String>,
    description: String,
}

/// The example's temporary folder, removed on drop (also after an error).
struct TempFolder(PathBuf);

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn manifest(i: usize) -> String {
    format!(
        "# plugin manifest\n\
         name = plugin-{i:04}\n\
         version = 1.{}.{}\n\
         entry_point = lib/plugin_{i:04}.so\n\
         capabilities = {}\n\
         description = Plugin number {i}, which adds tools and a model provider.\n",
        i % 7,
        i % 13,
        ["tools", "models", "embeddings", "rerank"][..1 + i % 4].join(", "),
    )
}

/// Reads and parses every `*.plugin` file of `folder`: the work worth
/// caching.
fn discover(folder: &Path) -> io::Result<Vec<Plugin>> {
    let mut plugins = Vec::new();
    for entry in fs::read_dir(folder)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "plugin") {
            let text = fs::read_to_string(&path)?;
            plugins.push(parse(&text).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad manifest {}", path.display()),
                )
            })?);
        }
    }
    plugins.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(plugins)
}

fn parse(text: &str) -> Option<Plugin> {
    let field = |key: &str| {
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_owned())
    };
    Some(Plugin {
        name: field("name")?,
        version: field("version")?,
        entry_point: field("entry_point")?,
        capabilities: field("capabilities")?
            .split(',')
            .map(|c| c.trim().to_owned())
            .collect(),
        description: field("description")?,
    })
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn lookup(
    cache: &RegistryCache<Vec<Plugin>>,
    folder: &Path,
) -> io::Result<(Vec<Plugin>, Outcome, Duration)> {
    let (result, elapsed) = timed(|| cache.try_get_or_discover_with_outcome(|| discover(folder)));
    let (plugins, outcome) = result?;
    Ok((plugins, outcome, elapsed))
}

fn main() -> Result<(), Box<dyn Error>> {
    let root = TempFolder(
        std::env::temp_dir().join(format!("cache-examples-plugins-{}", std::process::id())),
    );
    let plugin_dir = root.0.join("plugins");
    fs::create_dir_all(&plugin_dir)?;
    for i in 0..PLUGINS {
        fs::write(
            plugin_dir.join(format!("plugin-{i:04}.plugin")),
            manifest(i),
        )?;
    }

    let cache = RegistryCache::<Vec<Plugin>>::builder("cache-examples", "plugins")
        .version(env!("CARGO_PKG_VERSION"))
        .depends_on(&plugin_dir)
        // The example keeps its cache file in its own temporary folder;
        // a program leaves this out and gets ~/.cache/<app>/<name>.json.
        .dir(root.0.join("cache"))
        .build()?;
    let default_location = RegistryCache::<Vec<Plugin>>::builder("cache-examples", "plugins")
        .build()?
        .path()
        .map_or_else(
            || "(no cache folder)".to_owned(),
            |p| p.display().to_string(),
        );
    println!("{PLUGINS} plugin manifests in {}", plugin_dir.display());
    println!(
        "cache file: {}",
        cache
            .path()
            .map_or_else(String::new, |p| p.display().to_string())
    );
    println!("(a program would use {default_location})");
    if !cache.is_enabled() {
        println!(
            "note: {} is set, every lookup runs the discovery",
            cache_runtime::discovery::DISABLE_ENV_VAR
        );
    }
    println!();

    let (discovered, discovery_only) = timed(|| discover(&plugin_dir));
    discovered?;
    let (cold_plugins, cold, cold_time) = lookup(&cache, &plugin_dir)?;
    println!("discovery alone: {:>8.2} ms", ms(discovery_only));
    println!(
        "cold lookup:     {:>8.2} ms  {} plugins  [{cold}]",
        ms(cold_time),
        cold_plugins.len()
    );

    // Warm lookups: the median of several, as a program start would see it.
    let mut warm_times = Vec::new();
    let mut last = None;
    for _ in 0..9 {
        let (plugins, outcome, elapsed) = lookup(&cache, &plugin_dir)?;
        assert_eq!(
            plugins, cold_plugins,
            "the cached value is the discovered one"
        );
        warm_times.push(elapsed);
        last = Some(outcome);
    }
    warm_times.sort();
    let warm_time = warm_times[warm_times.len() / 2];
    let warm = last.ok_or("no warm lookup")?;
    println!(
        "warm lookup:     {:>8.2} ms  {} plugins  [{warm}]  (median of {})",
        ms(warm_time),
        cold_plugins.len(),
        warm_times.len()
    );
    println!(
        "warm is {:.1}x faster than the cold lookup, {:.1}x faster than the discovery alone",
        cold_time.as_secs_f64() / warm_time.as_secs_f64(),
        discovery_only.as_secs_f64() / warm_time.as_secs_f64(),
    );
    println!();

    // Installing a plugin adds an entry to the folder: its mtime moves.
    fs::write(plugin_dir.join("plugin-new.plugin"), manifest(PLUGINS))?;
    let (plugins, outcome, elapsed) = lookup(&cache, &plugin_dir)?;
    println!(
        "after installing one plugin: {:>8.2} ms  {} plugins  [{outcome}]",
        ms(elapsed),
        plugins.len()
    );
    let (plugins, outcome, elapsed) = lookup(&cache, &plugin_dir)?;
    println!(
        "and again:                   {:>8.2} ms  {} plugins  [{outcome}]",
        ms(elapsed),
        plugins.len()
    );

    if cache.is_enabled() && (!warm.is_hit() || plugins.len() != PLUGINS + 1 || !outcome.is_hit()) {
        return Err("the cache did not behave as described".into());
    }
    Ok(())
}

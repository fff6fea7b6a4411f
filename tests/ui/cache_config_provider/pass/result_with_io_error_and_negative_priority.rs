use std::time::Duration;

use cache_runtime::{ConfigLayer, cache_config_provider, registry, config::RegionOptions};

#[cache_config_provider(priority = -5, name = "file-defaults")]
fn from_file() -> Result<ConfigLayer, std::io::Error> {
    Ok(ConfigLayer::new().region(
        "model-metadata",
        RegionOptions {
            ttl: Some(Duration::from_secs(30)),
            ..RegionOptions::EMPTY
        },
    ))
}

#[cache_config_provider(priority = 10)]
fn failing_source() -> Result<ConfigLayer, std::io::Error> {
    Err(std::io::Error::other("source unavailable"))
}

#[cache_config_provider]
pub fn plain_layer() -> cache_runtime::ConfigLayer {
    ConfigLayer::new()
}

fn main() {
    let providers: Vec<(&str, i32, &str)> = registry()
        .providers()
        .iter()
        .map(|p| (p.name(), p.priority(), p.function()))
        .collect();
    assert_eq!(
        providers,
        [
            ("file-defaults", -5, "from_file"),
            ("plain-layer", 0, "plain_layer"),
            ("failing-source", 10, "failing_source"),
        ]
    );
    let layer = registry()
        .provider("file-defaults")
        .expect("linked")
        .load()
        .expect("loads");
    assert_eq!(
        layer.get("model-metadata").and_then(|o| o.ttl),
        Some(Duration::from_secs(30))
    );
    let error = registry()
        .provider("failing-source")
        .expect("linked")
        .load()
        .expect_err("fails");
    let message = error.to_string();
    assert!(message.contains("failing-source"), "{message}");
    assert!(message.contains("source unavailable"), "{message}");
    // The function stays callable as written.
    assert!(plain_layer().is_empty());
    assert!(from_file().is_ok());
}

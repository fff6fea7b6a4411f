//! Holds the UI cases under `cache_region/`, `custom_cache_region/` and `cache_config_provider/`.

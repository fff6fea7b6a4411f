// The expansion must name everything by absolute path: this file shadows
// the prelude's types, variants and functions it could otherwise reach for.
#![allow(dead_code, non_snake_case, non_camel_case_types)]

use cache_runtime::{cache_config_provider, cache_region, custom_cache_region};

struct Option;
struct Result;
struct String;
struct Box;
struct Vec;
struct Default;
struct Send;
struct Sync;
struct Sized;
struct bool;
struct u64;
struct str;
fn Some() {}
fn None() {}
fn Ok() {}
fn Err() {}
fn drop() {}
fn panic() {}
fn module_path() {}
fn file() {}
fn line() {}
fn column() {}

#[cache_region(name = "shadowed-plain", key = u32, value = u32, ttl = "1m", tti = "30s", max_entries = 10,
               tier = "memory", eviction = "lru", sensitive, version = 3, description = "shadows")]
pub struct ShadowedPlain;

#[cache_region(name = "shadowed-bulk", key = u32, value = u32, preset = "bulk", compression = "lz4", max_bytes = "1MiB")]
pub struct ShadowedBulk;

#[derive(::core::default::Default)]
pub struct Policy;

impl ::cache_runtime::CachePolicy<u32, u32> for Policy {}

#[custom_cache_region(name = "shadowed-custom", key = u32, value = u32, policy = Policy, backend = "store")]
pub struct ShadowedCustom;

#[cache_config_provider(priority = -1)]
fn shadowed_layer() -> ::core::result::Result<::cache_runtime::ConfigLayer, ::std::io::Error> {
    ::core::result::Result::Ok(::cache_runtime::ConfigLayer::new())
}

fn main() {
    let registry = ::cache_runtime::registry();
    ::core::assert_eq!(registry.len(), 3);
    ::core::assert!(registry.get("shadowed-plain").is_some());
    ::core::assert!(registry.get("shadowed-custom").and_then(|r| r.policy()).is_some());
    ::core::assert_eq!(registry.providers().len(), 1);
}

//! A region declared inside a function body, in a crate that denies every
//! warning (`non_local_definitions` included).
#![deny(warnings)]

use cache_runtime::{cache_config_provider, cache_region, ConfigLayer};

fn main() {
    #[cache_region(name = "declared-in-main", key = String, value = String)]
    struct DeclaredInMain;

    #[cache_config_provider(name = "provided-in-main")]
    fn provided_in_main() -> ConfigLayer {
        ConfigLayer::new()
    }

    let registry = cache_runtime::registry();
    let region = registry.region::<DeclaredInMain>().expect("linked");
    assert_eq!(region.name(), "declared-in-main");
    assert!(registry.provider("provided-in-main").is_some());
}

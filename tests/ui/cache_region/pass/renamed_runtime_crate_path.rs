// `cache_ui_renamed` knows cache-runtime only as `renamed_runtime` and
// declares its regions with `crate = renamed_runtime`; this case adds one
// through a re-exported path to the same facade.
use cache_runtime::{CacheRegion, registry};
use cache_ui_renamed::{RenamedCustom, RenamedPlain};

#[cache_ui_renamed::renamed_runtime::cache_region(name = "reexported-path", key = u8, value = u8,
                                                  crate = cache_ui_renamed::renamed_runtime)]
pub struct ReexportedPath;

fn main() {
    let registry = registry();
    assert!(std::ptr::eq(
        registry.region::<RenamedPlain>().expect("linked"),
        RenamedPlain::DESCRIPTOR
    ));
    let custom = registry.region::<RenamedCustom>().expect("linked");
    assert_eq!(custom.backend(), Some("sqlite"));
    assert!(
        custom
            .policy()
            .and_then(|p| p.instantiate::<String, u32>())
            .is_some()
    );
    assert!(registry.region::<ReexportedPath>().is_some());
    let provider = registry.provider("renamed-defaults").expect("linked");
    assert_eq!(provider.priority(), 3);
    assert!(provider.load().expect("loads").is_empty());
    assert_eq!(registry.len(), 3);
}

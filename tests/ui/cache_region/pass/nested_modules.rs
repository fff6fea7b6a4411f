use cache_runtime::registry;

pub mod auth {
    use cache_runtime::cache_region;

    #[cache_region(name = "virtual-keys", key = String, value = String, preset = "security-critical")]
    pub struct VirtualKeys;

    pub mod sessions {
        #[cache_runtime::cache_region(name = "session-tokens", key = String, value = super::Token, ttl = "15m", tti = "5m")]
        pub struct SessionTokens;
    }

    #[derive(Clone)]
    pub struct Token;
}

fn main() {
    use auth::VirtualKeys;
    use auth::sessions::SessionTokens;

    let keys = registry().region::<VirtualKeys>().expect("linked");
    // trybuild names the crate, so only the module part is checked.
    let module = keys.site().module_path().expect("declared in a crate");
    assert!(module.ends_with("::auth"), "{module}");
    let sessions = registry().region::<SessionTokens>().expect("linked");
    let module = sessions.site().module_path().expect("declared in a crate");
    assert!(module.ends_with("::auth::sessions"), "{module}");
    assert_eq!(sessions.value_type(), Some("super::Token"));
    assert!(sessions.site().file().ends_with("nested_modules.rs"));
    assert_eq!(sessions.site().line(), 10);
    let names: Vec<&str> = registry().iter().map(|r| r.name()).collect();
    assert_eq!(names, ["session-tokens", "virtual-keys"]);
}

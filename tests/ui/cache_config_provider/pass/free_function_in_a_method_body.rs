// A provider declared in the body of a method is a free function (nested
// in that body), not an associated one: it compiles and links.
use cache_runtime::{ConfigLayer, registry};

pub struct Settings;

impl Settings {
    pub fn declare() {
        #[cache_runtime::cache_config_provider(name = "nested-in-a-method")]
        fn layer() -> ConfigLayer {
            // A brace in a string and in a comment: { "}" }
            let _ = "}";
            ConfigLayer::new()
        }
    }
}

fn main() {
    Settings::declare();
    assert!(registry().provider("nested-in-a-method").is_some());
}

//! Config providers: functions declared with `#[cache_config_provider]`.

use std::error::Error;

use crate::config::ConfigLayer;
use crate::site::DeclarationSite;

/// The error type a provider may fail with, boxed.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// A function that contributes a [`ConfigLayer`], declared with
/// `#[cache_config_provider(priority = N)]` and collected at link time.
/// Providers are applied in ascending priority (a higher priority overrides
/// a lower one), then by name.
#[derive(Debug)]
pub struct ProviderDescriptor {
    name: &'static str,
    priority: i32,
    function: &'static str,
    site: DeclarationSite,
    load: fn() -> Result<ConfigLayer, BoxError>,
}

/// The parts of a provider descriptor that the attribute macro writes out.
#[doc(hidden)]
pub struct LinkedProvider {
    pub name: &'static str,
    pub priority: i32,
    pub function: &'static str,
    pub site: DeclarationSite,
    pub load: fn() -> Result<ConfigLayer, BoxError>,
}

impl ProviderDescriptor {
    #[doc(hidden)]
    pub const fn __linked(parts: LinkedProvider) -> ProviderDescriptor {
        ProviderDescriptor {
            name: parts.name,
            priority: parts.priority,
            function: parts.function,
            site: parts.site,
            load: parts.load,
        }
    }

    /// The provider's name: `name = "..."`, or the function's name in
    /// kebab-case.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its priority: higher overrides lower.
    pub fn priority(&self) -> i32 {
        self.priority
    }

    /// The annotated function's name.
    pub fn function(&self) -> &'static str {
        self.function
    }

    /// Where it was declared.
    pub fn site(&self) -> &DeclarationSite {
        &self.site
    }

    /// Runs the provider.
    ///
    /// # Errors
    ///
    /// The provider's own error, wrapped with its name and site.
    pub fn load(&self) -> Result<ConfigLayer, ProviderError> {
        (self.load)().map_err(|source| ProviderError {
            provider: self.name,
            site: self.site,
            source,
        })
    }
}

/// A config provider failed.
#[derive(Debug, thiserror::Error)]
#[error("config provider `{provider}` declared at {site} failed: {source}")]
pub struct ProviderError {
    /// The provider's name.
    pub provider: &'static str,
    /// Where it was declared.
    pub site: DeclarationSite,
    /// What the provider returned.
    #[source]
    pub source: BoxError,
}

/// What a `#[cache_config_provider]` function may return: a [`ConfigLayer`],
/// or a `Result` of one with any error type.
#[diagnostic::on_unimplemented(
    message = "a #[cache_config_provider] function must return `ConfigLayer` or `Result<ConfigLayer, E>`, not `{Self}`",
    label = "this return type is not a config layer",
    note = "build the layer with `cache_runtime::ConfigLayer::new().region(\"name\", options)`"
)]
pub trait IntoConfigLayer {
    /// The layer, or the provider's error boxed.
    ///
    /// # Errors
    ///
    /// The provider's own error.
    fn into_config_layer(self) -> Result<ConfigLayer, BoxError>;
}

impl IntoConfigLayer for ConfigLayer {
    fn into_config_layer(self) -> Result<ConfigLayer, BoxError> {
        Ok(self)
    }
}

impl<E: Into<BoxError>> IntoConfigLayer for Result<ConfigLayer, E> {
    fn into_config_layer(self) -> Result<ConfigLayer, BoxError> {
        self.map_err(Into::into)
    }
}

//! [`ErasedStore`]: what the manager does with a region by name, without
//! knowing its key and value types (tools, the admin API).

use std::any::Any;
use std::hash::Hash;
use std::sync::Arc;

use serde_json::Value;

use super::entries::{EntryPage, EntryQuery};
use super::error::CacheError;
use super::store::{BoxFuture, Reconfigured, RefreshReport, RegionStore, key_from_text};
use crate::disk::CleanupReport;
use cache_spec::RegionSettings;

/// A region's store with its types erased.
pub(crate) trait ErasedStore: Send + Sync + 'static {
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    fn get_json<'a>(&'a self, key: &'a Value) -> BoxFuture<'a, Result<Option<Value>, CacheError>>;
    fn remove_json<'a>(&'a self, key: &'a Value) -> BoxFuture<'a, Result<bool, CacheError>>;
    fn clear(&self) -> BoxFuture<'_, Result<u64, CacheError>>;
    fn clear_matching<'a>(&'a self, pattern: &'a str) -> BoxFuture<'a, Result<u64, CacheError>>;
    fn entries<'a>(&'a self, query: &'a EntryQuery)
    -> BoxFuture<'a, Result<EntryPage, CacheError>>;
    fn refresh(&self, keys: Option<Vec<Value>>)
    -> BoxFuture<'_, Result<RefreshReport, CacheError>>;
    fn len(&self) -> Option<u64>;
    fn bytes(&self) -> Option<u64>;
    fn run_pending_tasks(&self);
    fn flush(&self) -> Result<(), CacheError>;
    fn cleanup(&self) -> Result<Option<CleanupReport>, CacheError>;
    fn type_names(&self) -> (&'static str, &'static str);
    fn second_name(&self) -> Option<&'static str>;
    fn second_backend(&self) -> Option<Arc<dyn crate::backend::Backend>>;
    /// Applies new settings to the running store (see
    /// [`RegionStore::reconfigure`]).
    fn reconfigure(&self, settings: &RegionSettings) -> Reconfigured;
    /// The settings in force (what [`ErasedStore::reconfigure`] last
    /// applied).
    // For the configuration layer, which keeps its own copy so far.
    #[allow(dead_code)]
    fn settings(&self) -> RegionSettings;
}

impl<K, V> RegionStore<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A key given as JSON (or as its text form in a JSON string).
    fn key_of(&self, key: &Value) -> Result<K, CacheError> {
        let Some(serde) = self.codecs.key_serde else {
            return Err(CacheError::NotSerializable {
                region: self.name.to_string(),
                what: "key type",
                type_name: self.descriptor.key_type().unwrap_or("?").to_owned(),
                needs: "Deserialize",
                action: "access by JSON key",
            });
        };
        match (serde.from_json)(key.clone()) {
            Ok(key) => Ok(key),
            Err(error) => {
                // "42" for a u64 key: accept a key's text form too.
                if let Value::String(text) = key
                    && let Some(key) = key_from_text(serde.from_json, text)
                {
                    return Ok(key);
                }
                Err(CacheError::BadKey {
                    region: self.name.to_string(),
                    key: key.to_string(),
                    key_type: self.descriptor.key_type().unwrap_or("?").to_owned(),
                    reason: error.to_string(),
                })
            }
        }
    }
}

impl<K, V> ErasedStore for RegionStore<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn get_json<'a>(&'a self, key: &'a Value) -> BoxFuture<'a, Result<Option<Value>, CacheError>> {
        Box::pin(async move {
            if self.is_sensitive() {
                return Err(CacheError::Sensitive {
                    region: self.name.to_string(),
                    action: "read by tools",
                });
            }
            let Some(serde) = self.codecs.value_serde else {
                return Err(CacheError::NotSerializable {
                    region: self.name.to_string(),
                    what: "value type",
                    type_name: self.descriptor.value_type().unwrap_or("?").to_owned(),
                    needs: "Serialize",
                    action: "reading values as JSON",
                });
            };
            let key = self.key_of(key)?;
            Ok(self
                .try_get(&key)
                .await?
                .and_then(|value| (serde.to_json)(&value).ok()))
        })
    }

    fn remove_json<'a>(&'a self, key: &'a Value) -> BoxFuture<'a, Result<bool, CacheError>> {
        Box::pin(async move {
            let key = self.key_of(key)?;
            self.try_remove(&key).await
        })
    }

    fn clear(&self) -> BoxFuture<'_, Result<u64, CacheError>> {
        Box::pin(self.try_clear())
    }

    fn clear_matching<'a>(&'a self, pattern: &'a str) -> BoxFuture<'a, Result<u64, CacheError>> {
        Box::pin(self.try_clear_matching(pattern))
    }

    fn entries<'a>(
        &'a self,
        query: &'a EntryQuery,
    ) -> BoxFuture<'a, Result<EntryPage, CacheError>> {
        Box::pin(self.try_entries(query))
    }

    fn refresh(
        &self,
        keys: Option<Vec<Value>>,
    ) -> BoxFuture<'_, Result<RefreshReport, CacheError>> {
        Box::pin(async move {
            let keys = match keys {
                Some(keys) => Some(
                    keys.iter()
                        .map(|key| self.key_of(key))
                        .collect::<Result<Vec<K>, CacheError>>()?,
                ),
                None => None,
            };
            Ok(RegionStore::refresh(self, keys).await)
        })
    }

    fn len(&self) -> Option<u64> {
        RegionStore::len(self)
    }

    fn bytes(&self) -> Option<u64> {
        RegionStore::bytes(self)
    }

    fn run_pending_tasks(&self) {
        RegionStore::run_pending_tasks(self);
    }

    fn flush(&self) -> Result<(), CacheError> {
        RegionStore::flush(self)
    }

    fn cleanup(&self) -> Result<Option<CleanupReport>, CacheError> {
        RegionStore::cleanup(self)
    }

    fn type_names(&self) -> (&'static str, &'static str) {
        (std::any::type_name::<K>(), std::any::type_name::<V>())
    }

    fn second_name(&self) -> Option<&'static str> {
        RegionStore::second_name(self)
    }

    fn second_backend(&self) -> Option<Arc<dyn crate::backend::Backend>> {
        self.levels
            .second()
            .map(|second| Arc::clone(second.backend()))
    }

    fn reconfigure(&self, settings: &RegionSettings) -> Reconfigured {
        RegionStore::reconfigure(self, settings)
    }

    fn settings(&self) -> RegionSettings {
        RegionStore::settings(self)
    }
}

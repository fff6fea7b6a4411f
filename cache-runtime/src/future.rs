//! [`BoxFuture`]: what loaders, backends and erased operations return.

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future: what loaders, storage backends and erased
/// operations return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

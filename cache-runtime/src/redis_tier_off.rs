//! Without the `redis` feature: the Redis tier's error type, which no
//! operation can return.

/// Why an operation on the Redis tier failed. This build has no Redis tier
/// (feature `redis`), so no value of this type exists.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {}

//! Cross-crate tests of cache-runtime; see `tests/`.

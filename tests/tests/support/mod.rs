//! What several test files share (each includes it with `mod support;`).

#![allow(dead_code)] // each test file uses only part of it

use std::fs;
use std::path::{Path, PathBuf};

/// Key texts that tell glob dialects apart (escapes, classes, empty,
/// non-ASCII, braces).
pub(crate) const GLOB_KEYS: &[&str] = &[
    "user:1", "user:10", "user:2", "user:", "admin:1", "a*b", "a?b", "axb", "ab", "[x]", "x", "",
    "ünï", "ü", "a\\b", "c:1", "{tag}:1",
];

/// Patterns over [`GLOB_KEYS`].
pub(crate) const GLOB_PATTERNS: &[&str] = &[
    "*",
    "user:*",
    "user:?",
    "user:[12]",
    "user:[^1]",
    "user:[!1]*",
    "*:1",
    "a\\*b",
    "a?b",
    "\\[x\\]",
    "[x]",
    "ü*",
    "?",
    "[a-c]*",
    "a\\\\b",
    "",
    "nothing",
    "{tag}*",
    "user:1",
    // Patterns only Redis' own reading accepts: an unclosed class, an
    // empty one, a negated empty one, an open range, a trailing `\`; and
    // `?` next to a two-byte character.
    "[",
    "user:[",
    "[]",
    "[^]",
    "user:[1-",
    "a\\",
    "ü?",
    "?ü",
];

/// A folder of its own under the system temp folder, named after the test
/// suite, the test and the process, removed on drop.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    /// A fresh, existing, empty folder.
    pub(crate) fn new(suite: &str, test: &str) -> Scratch {
        let scratch = Scratch::unmade(suite, test);
        fs::create_dir_all(&scratch.0).expect("scratch folder");
        scratch
    }

    /// A path where nothing exists yet (for code that creates its folder).
    pub(crate) fn unmade(suite: &str, test: &str) -> Scratch {
        let path =
            std::env::temp_dir().join(format!("cache-tests-{suite}-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        Scratch(path)
    }

    /// The folder.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the folder.
    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `future` on a runtime of its own (what a backend's futures and
/// the conformance suite need from a synchronous test).
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// An ephemeral `memcached` per test, on a free loopback port.
pub(crate) mod memcached;

/// An ephemeral `redis-server` per test, on a free loopback port, killed on
/// drop. One file for the whole workspace: cache-runtime's unit tests use it
/// too.
#[path = "../../../cache-runtime/src/test_support/redis.rs"]
pub(crate) mod redis;

/// What the ephemeral servers share (a free port, waiting until ready).
#[path = "../../../cache-runtime/src/test_support/server.rs"]
pub(crate) mod server;

//! `RegistryCache<T>` against real files: what makes a stored discovery
//! valid, what makes it a miss, and that no failure reaches the caller.
//!
//! Each test works in its own folder under the system temp folder. The
//! environment switch (`CACHE_RUNTIME_DISABLE_DISCOVERY_CACHE`) is not set
//! here: the environment is process-global and the tests run in parallel
//! threads (and `set_var` is `unsafe`). Its parsing is unit-tested in
//! `cache-runtime`; these tests disable the cache through the builder.

use std::cell::Cell;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cache_runtime::discovery::{
    Lookup, MissReason, Outcome, RegistryCache, RegistryCacheBuilder, RegistryCacheError,
    WriteStatus,
};

/// A folder of its own, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!(
            "cache-tests-registry-cache-{test}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("scratch folder");
        Scratch(path)
    }

    fn join(&self, relative: &str) -> PathBuf {
        self.0.join(relative)
    }

    fn write(&self, relative: &str, content: &str) -> PathBuf {
        let path = self.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create folder");
        }
        fs::write(&path, content).expect("write");
        path
    }

    /// A builder whose file lives in this scratch folder.
    fn cache(&self) -> RegistryCacheBuilder<Vec<String>> {
        RegistryCache::builder("cache-tests", "plugins")
            .dir(self.join("cache"))
            .version("1.0.0")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Counts how often the discovery runs.
struct Discovery {
    calls: Cell<u32>,
    result: Vec<String>,
}

impl Discovery {
    fn new(result: &[&str]) -> Discovery {
        Discovery {
            calls: Cell::new(0),
            result: result.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn run(&self, cache: &RegistryCache<Vec<String>>) -> Outcome {
        let (value, outcome) = cache.get_or_discover_with_outcome(|| {
            self.calls.set(self.calls.get() + 1);
            self.result.clone()
        });
        assert_eq!(value, self.result, "{outcome}");
        outcome
    }

    fn calls(&self) -> u32 {
        self.calls.get()
    }
}

fn miss(reason: MissReason) -> Lookup {
    Lookup::Miss(reason)
}

/// An hour ago: not "racy" (see `hash_contents`), and different from now.
fn an_hour_ago() -> SystemTime {
    SystemTime::now() - Duration::from_secs(3600)
}

fn set_mtime(path: &Path, time: SystemTime) {
    // Folders open read-only; `futimens` works on any descriptor we own.
    let file = if path.is_dir() {
        File::open(path)
    } else {
        File::options().write(true).open(path)
    };
    file.and_then(|f| f.set_modified(time)).expect("set mtime");
}

fn cache_file(cache: &RegistryCache<Vec<String>>) -> PathBuf {
    cache.path().expect("a cache path").to_path_buf()
}

#[test]
fn cold_miss_then_warm_hit() {
    let scratch = Scratch::new("cold-warm");
    let cache = scratch.cache().build().expect("build");
    let discovery = Discovery::new(&["a", "b"]);

    let cold = discovery.run(&cache);
    assert_eq!(cold.lookup, miss(MissReason::Missing));
    assert_eq!(cold.write, WriteStatus::Written);
    assert!(cache_file(&cache).is_file());
    assert_eq!(cache_file(&cache), scratch.join("cache/plugins.json"));

    for _ in 0..3 {
        let warm = discovery.run(&cache);
        assert!(warm.is_hit(), "{warm}");
        assert_eq!(warm.write, WriteStatus::NotNeeded);
    }
    assert_eq!(discovery.calls(), 1, "the discovery ran once");

    // A new cache object (the next run of the program) reads the same file.
    let next_run = scratch.cache().build().expect("build");
    assert!(discovery.run(&next_run).is_hit());
    assert_eq!(discovery.calls(), 1);
}

#[test]
fn version_change_is_a_miss() {
    let scratch = Scratch::new("version");
    let discovery = Discovery::new(&["a"]);
    discovery.run(&scratch.cache().build().expect("build"));

    let upgraded = scratch.cache().version("2.0.0").build().expect("build");
    let outcome = discovery.run(&upgraded);
    assert_eq!(
        outcome.lookup,
        miss(MissReason::VersionChanged {
            stored: "1.0.0".into()
        })
    );
    assert_eq!(outcome.write, WriteStatus::Written);
    assert!(discovery.run(&upgraded).is_hit());
    assert_eq!(discovery.calls(), 2);
}

#[test]
fn version_getter_is_asked_at_each_lookup() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    let scratch = Scratch::new("version-getter");
    let remote_version = Arc::new(AtomicU32::new(1));
    let seen = Arc::clone(&remote_version);
    let cache = scratch
        .cache()
        .version_with(move || format!("api-{}", seen.load(Ordering::SeqCst)))
        .build()
        .expect("build");
    let discovery = Discovery::new(&["model"]);
    discovery.run(&cache);
    assert!(discovery.run(&cache).is_hit());
    remote_version.store(2, Ordering::SeqCst);
    assert_eq!(
        discovery.run(&cache).lookup,
        miss(MissReason::VersionChanged {
            stored: "api-1".into()
        })
    );
}

#[test]
fn expired_value_is_rediscovered() {
    let scratch = Scratch::new("expired");
    let cache = scratch
        .cache()
        .max_age(Duration::from_millis(1))
        .build()
        .expect("build");
    let discovery = Discovery::new(&["a"]);
    discovery.run(&cache);
    std::thread::sleep(Duration::from_millis(20));
    let outcome = discovery.run(&cache);
    assert!(
        matches!(outcome.lookup, Lookup::Miss(MissReason::Expired { age }) if age >= Duration::from_millis(2)),
        "{outcome:?}"
    );
    assert_eq!(discovery.calls(), 2);

    // The same file is still young for a cache with the default maximum age.
    assert!(
        discovery
            .run(&scratch.cache().build().expect("build"))
            .is_hit()
    );
}

#[test]
fn dependency_file_with_new_content_is_a_miss() {
    let scratch = Scratch::new("dep-file");
    let config = scratch.write("plugins.toml", "enabled = [\"a\"]\n");
    let cache = scratch.cache().depends_on(&config).build().expect("build");
    let discovery = Discovery::new(&["a"]);
    assert_eq!(discovery.run(&cache).lookup, miss(MissReason::Missing));
    assert!(discovery.run(&cache).is_hit());

    scratch.write("plugins.toml", "enabled = [\"a\", \"b\"]\n");
    let outcome = discovery.run(&cache);
    assert_eq!(
        outcome.lookup,
        miss(MissReason::DependencyChanged {
            path: config.clone()
        })
    );
    assert!(discovery.run(&cache).is_hit());

    // Same size, new mtime: without hashing, the mtime is trusted.
    set_mtime(&config, an_hour_ago());
    assert_eq!(
        discovery.run(&cache).lookup,
        miss(MissReason::DependencyChanged {
            path: config.clone()
        })
    );

    // Deleted: a change too.
    fs::remove_file(&config).expect("remove");
    assert_eq!(
        discovery.run(&cache).lookup,
        miss(MissReason::DependencyChanged { path: config })
    );
    assert_eq!(discovery.calls(), 4);
}

#[test]
fn dependency_folder_gets_a_new_file_is_a_miss() {
    let scratch = Scratch::new("dep-folder");
    let folder = scratch.join("plugins");
    scratch.write("plugins/a.toml", "name = \"a\"");
    // An old folder, so adding an entry surely moves its mtime even on a
    // file system with a coarse clock.
    set_mtime(&folder, an_hour_ago());
    let cache = scratch.cache().depends_on(&folder).build().expect("build");
    let discovery = Discovery::new(&["a"]);
    discovery.run(&cache);
    assert!(discovery.run(&cache).is_hit());

    scratch.write("plugins/b.toml", "name = \"b\"");
    assert_eq!(
        discovery.run(&cache).lookup,
        miss(MissReason::DependencyChanged {
            path: folder.clone()
        })
    );
    assert!(discovery.run(&cache).is_hit());
    assert_eq!(discovery.calls(), 2);
}

#[test]
fn dependency_that_appears_later_is_a_miss() {
    let scratch = Scratch::new("dep-appears");
    let folder = scratch.join("user-plugins");
    let cache = scratch.cache().depends_on(&folder).build().expect("build");
    let discovery = Discovery::new(&[]);
    discovery.run(&cache);
    assert!(
        discovery.run(&cache).is_hit(),
        "a missing dependency that stays missing"
    );
    fs::create_dir(&folder).expect("create");
    assert_eq!(
        discovery.run(&cache).lookup,
        miss(MissReason::DependencyChanged { path: folder })
    );
}

#[test]
fn changed_dependency_list_is_a_miss() {
    let scratch = Scratch::new("dep-list");
    let a = scratch.write("a.toml", "a");
    let b = scratch.write("b.toml", "b");
    let discovery = Discovery::new(&["a"]);
    discovery.run(&scratch.cache().depends_on(&a).build().expect("build"));

    let more = scratch
        .cache()
        .depends_on_all([&a, &b])
        .build()
        .expect("build");
    assert_eq!(
        discovery.run(&more).lookup,
        miss(MissReason::DependencyChanged { path: b })
    );
    assert!(discovery.run(&more).is_hit());
}

#[test]
fn hashing_sees_through_a_touch_and_refreshes_the_stamp() {
    let scratch = Scratch::new("hash-touch");
    let config = scratch.write("plugins.toml", "enabled = [\"a\"]\n");
    set_mtime(&config, an_hour_ago());
    let cache = scratch
        .cache()
        .depends_on(&config)
        .hash_contents(true)
        .build()
        .expect("build");
    let discovery = Discovery::new(&["a"]);
    discovery.run(&cache);
    let stored = fs::read(cache_file(&cache)).expect("read");

    // Touched: new mtime, same content.
    set_mtime(&config, an_hour_ago() + Duration::from_secs(60));
    let touched = discovery.run(&cache);
    assert!(touched.is_hit(), "{touched}");
    assert_eq!(
        touched.write,
        WriteStatus::Written,
        "the stamp is refreshed"
    );
    assert_ne!(fs::read(cache_file(&cache)).expect("read"), stored);

    // The refreshed stamp matches: no re-hash, nothing to write.
    let again = discovery.run(&cache);
    assert!(again.is_hit());
    assert_eq!(again.write, WriteStatus::NotNeeded);

    // Same size, new content, new mtime: the hash decides, and it differs.
    let old_mtime = fs::metadata(&config)
        .and_then(|m| m.modified())
        .expect("mtime");
    fs::write(&config, "enabled = [\"b\"]\n").expect("write");
    set_mtime(&config, old_mtime + Duration::from_secs(1));
    assert_eq!(
        discovery.run(&cache).lookup,
        miss(MissReason::DependencyChanged { path: config })
    );
    assert_eq!(discovery.calls(), 2);
}

#[test]
fn hashing_a_folder_sees_through_a_touch() {
    let scratch = Scratch::new("hash-folder");
    let folder = scratch.join("plugins");
    scratch.write("plugins/a.toml", "a");
    set_mtime(&folder, an_hour_ago());
    let cache = scratch
        .cache()
        .depends_on(&folder)
        .hash_contents(true)
        .build()
        .expect("build");
    let discovery = Discovery::new(&["a"]);
    discovery.run(&cache);

    // An entry added and removed again: the folder's mtime moved, its
    // entries did not.
    scratch.write("plugins/tmp", "");
    fs::remove_file(folder.join("tmp")).expect("remove");
    set_mtime(&folder, an_hour_ago() + Duration::from_secs(60));
    let outcome = discovery.run(&cache);
    assert!(outcome.is_hit(), "{outcome}");
    assert_eq!(outcome.write, WriteStatus::Written);

    scratch.write("plugins/b.toml", "b");
    assert_eq!(
        discovery.run(&cache).lookup,
        miss(MissReason::DependencyChanged { path: folder })
    );
}

#[test]
fn corrupt_or_truncated_file_is_a_miss_and_rewritten() {
    let scratch = Scratch::new("corrupt");
    let cache = scratch.cache().build().expect("build");
    let discovery = Discovery::new(&["a", "b", "c"]);
    discovery.run(&cache);
    let path = cache_file(&cache);
    let valid = fs::read(&path).expect("read");

    let damaged: Vec<Vec<u8>> = vec![
        valid[..valid.len() / 2].to_vec(),
        valid[..1].to_vec(),
        Vec::new(),
        b"not json at all".to_vec(),
        vec![0xff; 100],
        String::from_utf8_lossy(&valid)
            .replacen("\"b\"", "\"x\"", 1)
            .into_bytes(),
    ];
    for bytes in damaged {
        fs::write(&path, &bytes).expect("damage");
        let outcome = discovery.run(&cache);
        assert_eq!(
            outcome.lookup,
            miss(MissReason::Corrupt),
            "{:?}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(outcome.write, WriteStatus::Written);
        assert!(discovery.run(&cache).is_hit(), "rewritten");
    }
}

#[test]
fn file_of_another_format_is_a_miss() {
    let scratch = Scratch::new("format");
    let cache = scratch.cache().build().expect("build");
    let path = cache_file(&cache);
    fs::create_dir_all(path.parent().expect("folder")).expect("folder");
    fs::write(&path, r#"{"format": 999, "anything": "else"}"#).expect("write");
    let discovery = Discovery::new(&["a"]);
    assert_eq!(
        discovery.run(&cache).lookup,
        miss(MissReason::FormatChanged { found: 999 })
    );
    assert!(discovery.run(&cache).is_hit());
}

#[test]
fn unwritable_folder_returns_the_discovery_and_no_error() {
    let scratch = Scratch::new("unwritable");
    let not_a_folder = scratch.write("regular-file", "");
    let cache = RegistryCache::<Vec<String>>::builder("cache-tests", "plugins")
        .dir(not_a_folder.join("cache"))
        .build()
        .expect("build");
    let discovery = Discovery::new(&["a"]);
    for _ in 0..2 {
        let outcome = discovery.run(&cache);
        assert_eq!(outcome.lookup, miss(MissReason::Missing));
        assert!(
            matches!(&outcome.write, WriteStatus::Failed { message, .. } if message.contains("regular-file")),
            "{outcome:?}"
        );
    }
    assert_eq!(discovery.calls(), 2);
    assert_eq!(
        cache.get_or_discover(|| vec!["plain".to_owned()]),
        ["plain"]
    );
    cache.invalidate().expect("nothing to remove is fine");
}

#[test]
fn disabled_cache_always_discovers_and_touches_nothing() {
    let scratch = Scratch::new("disabled");
    let cache = scratch.cache().enabled(false).build().expect("build");
    assert!(!cache.is_enabled());
    let discovery = Discovery::new(&["a"]);
    for _ in 0..3 {
        let outcome = discovery.run(&cache);
        assert_eq!(outcome.lookup, miss(MissReason::Disabled));
        assert_eq!(outcome.write, WriteStatus::NotNeeded);
    }
    assert_eq!(discovery.calls(), 3);
    assert!(!scratch.join("cache").exists(), "nothing written");

    // Nor read: a valid file written by an enabled cache is ignored.
    Discovery::new(&["stored"]).run(&scratch.cache().build().expect("build"));
    assert_eq!(discovery.run(&cache).lookup, miss(MissReason::Disabled));
}

#[test]
fn invalidate_forces_a_discovery() {
    let scratch = Scratch::new("invalidate");
    let cache = scratch.cache().build().expect("build");
    let discovery = Discovery::new(&["a"]);
    discovery.run(&cache);
    cache.invalidate().expect("invalidate");
    assert!(!cache_file(&cache).exists());
    assert_eq!(discovery.run(&cache).lookup, miss(MissReason::Missing));
    cache.invalidate().expect("invalidate");
    cache.invalidate().expect("twice is fine");
}

#[test]
fn failed_discovery_is_the_only_error_and_writes_nothing() {
    let scratch = Scratch::new("try");
    let cache = scratch.cache().build().expect("build");
    let failed: Result<Vec<String>, String> = cache.try_get_or_discover(|| Err("offline".into()));
    assert_eq!(failed, Err("offline".to_owned()));
    assert!(!cache_file(&cache).exists());

    let (models, outcome) = cache
        .try_get_or_discover_with_outcome(|| Ok::<_, String>(vec!["m".to_owned()]))
        .expect("discovered");
    assert_eq!(models, ["m"]);
    assert_eq!(outcome.lookup, miss(MissReason::Missing));
    let cached = cache.try_get_or_discover(|| Err::<Vec<String>, String>("not called".into()));
    assert_eq!(cached, Ok(vec!["m".to_owned()]));
}

#[test]
fn unsafe_names_are_the_build_error() {
    for (app, name) in [
        ("", "plugins"),
        ("..", "plugins"),
        ("a/b", "plugins"),
        ("app", ""),
        ("app", "../escape"),
        ("app", "sub/dir"),
        ("app", "back\\slash"),
    ] {
        let error = RegistryCache::<Vec<String>>::builder(app, name)
            .build()
            .expect_err(&format!("{app:?} / {name:?}"));
        match error {
            RegistryCacheError::InvalidAppName { name: bad, .. } => assert_eq!(bad, app),
            RegistryCacheError::InvalidCacheName { name: bad, .. } => assert_eq!(bad, name),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn concurrent_lookups_never_see_a_torn_file() {
    let scratch = Scratch::new("concurrent");
    let names: Vec<String> = (0..500).map(|i| format!("plugin-{i:04}")).collect();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let cache = scratch.cache().build().expect("build");
                for _ in 0..20 {
                    let value = cache.get_or_discover(|| names.clone());
                    assert_eq!(value, names);
                }
            });
        }
    });
    let cache = scratch.cache().build().expect("build");
    assert!(
        cache
            .get_or_discover_with_outcome(|| names.clone())
            .1
            .is_hit()
    );
}

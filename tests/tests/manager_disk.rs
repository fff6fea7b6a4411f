//! The manager's disk and hybrid tiers, end to end through `CacheManager`
//! and `RegionHandle`: values surviving a restart (synchronous and
//! write-behind writes), TTLs on disk, every damaged file a counted miss
//! (never a wrong value, never a panic), values whose type changed, a writer
//! killed with SIGKILL, cleanup counts, the hybrid tier's two levels and
//! their separate TTLs, write-behind losing nothing acknowledged, and
//! compression.
//!
//! Each test works in its own folder under the system temp folder (with the
//! process id in its name), removed at the end. TTL tests use short TTLs,
//! poll with a deadline and assert no timing.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use cache_runtime::{
    CacheManager, CacheRegion, RegionDescriptor, RegionHandle, backend::Schema, cache_region,
    config::Tier, disk::DiskStore, manager::RegionCodecs,
};
use serde::{Deserialize, Serialize};

mod support;
use support::Scratch;

/// The prefix of the disk store's temporary files
/// (`cache_spec::persist::TEMP_PREFIX`, which the facade does not re-export).
const TEMP_PREFIX: &str = ".tmp-";

/// How long a poll for an expiry may take before the test gives up: a
/// "did not hang" guard, far above the TTLs used.
const DEADLINE: Duration = Duration::from_secs(10);

/// A serde value with some structure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Profile {
    id: u64,
    name: String,
    tags: Vec<String>,
    manager: Option<Box<Profile>>,
}

fn profile(id: u64, name: &str) -> Profile {
    Profile {
        id,
        name: name.to_owned(),
        tags: vec![
            format!("team-{}", id % 3),
            String::from("ünïcödé \"quoted\""),
        ],
        manager: (id > 1).then(|| Box::new(profile(id / 2, "boss"))),
    }
}

#[cache_region(name = "mdisk-profiles", key = String, value = Profile, tier = "disk", ttl = "1h")]
struct Profiles;

#[cache_region(name = "mdisk-short", key = String, value = Profile, tier = "disk", ttl = "300ms")]
struct ShortLived;

#[cache_region(name = "mdisk-damage", key = String, value = Profile, tier = "disk")]
struct Damage;

#[cache_region(name = "mdisk-damage-hybrid", key = String, value = Profile, tier = "hybrid")]
struct DamageHybrid;

#[cache_region(name = "mdisk-retyped", key = String, value = Profile, tier = "disk")]
struct Retyped;

#[cache_region(name = "mdisk-cleanup", key = String, value = String, tier = "disk")]
struct CleanupRegion;

#[cache_region(name = "mdisk-hybrid", key = String, value = Profile, tier = "hybrid", ttl = "1h")]
struct Hybrid;

#[cache_region(name = "mdisk-hybrid-ttl", key = String, value = String, tier = "hybrid",
               memory_ttl = "300ms", ttl = "2s")]
struct HybridTtl;

#[cache_region(name = "mdisk-bulk", key = u32, value = String, tier = "disk")]
struct Bulk;

#[cfg(feature = "lz4")]
#[cache_region(name = "mdisk-lz4", key = String, value = String, tier = "disk", compression = "lz4")]
struct Compressed;

#[cache_region(name = "mdisk-sigkill", key = u32, value = Payload, tier = "disk")]
struct Killed;

#[cache_region(name = "mdisk-memory-only", key = String, value = String)]
struct MemoryOnly;

/// A manager over `root` with synchronous disk writes and no statistics
/// thread.
fn sync_manager(root: &Path) -> CacheManager {
    CacheManager::builder()
        .disk_root(root)
        .write_behind(0)
        .background_stats(false)
        .build()
        .expect("manager")
}

/// The entry files (not temporary or foreign files) in `dir`, sorted.
fn entry_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(read) => read
            .map(|item| item.expect("folder item").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "entry"))
            .collect(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => panic!("list {}: {error}", dir.display()),
    };
    files.sort();
    files
}

/// The names of the temporary files in `dir`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("list")
        .map(|item| item.expect("folder item").path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(TEMP_PREFIX))
        })
        .collect();
    files.sort();
    files
}

/// The file the region's disk level keeps `key_text`'s entry in.
fn entry_path<K, V>(handle: &RegionHandle<K, V>, key_text: &str) -> PathBuf
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let dir = handle.disk_dir().expect("a disk level");
    DiskStore::open(dir)
        .expect("store over the region folder")
        .path_for(key_text.as_bytes())
}

/// Sets a file's modification time `age` in the past.
fn age_file(path: &Path, age: Duration) {
    let file = fs::File::options()
        .write(true)
        .open(path)
        .expect("open to set the mtime");
    file.set_modified(SystemTime::now() - age)
        .expect("set the mtime");
}

#[tokio::test]
async fn disk_values_survive_a_restart_with_sync_and_write_behind_writes() {
    for write_behind in [Some(0), None, Some(2)] {
        let what = format!("write_behind {write_behind:?}");
        let scratch = Scratch::new(
            "mdisk",
            &format!(
                "restart-{}",
                write_behind.map_or(String::from("default"), |n| n.to_string())
            ),
        );
        let build = || {
            let mut builder = CacheManager::builder()
                .disk_root(scratch.path())
                .background_stats(false);
            if let Some(capacity) = write_behind {
                builder = builder.write_behind(capacity);
            }
            builder.build().expect("manager")
        };
        {
            let manager = build();
            let profiles = manager.region::<Profiles>().expect("region");
            assert!(profiles.insert("ada".into(), profile(7, "Ada")).await);
            assert!(profiles.insert("grace".into(), profile(1, "Grace")).await);
            assert!(profiles.insert("ada".into(), profile(8, "Ada L.")).await);
            // Read-your-writes before anything is flushed.
            assert_eq!(
                profiles.get(&"ada".into()).await,
                Some(profile(8, "Ada L.")),
                "{what}"
            );
            profiles.flush().expect("flush");
            let dir = profiles.disk_dir().expect("disk level");
            assert_eq!(dir, scratch.path().join("mdisk-profiles"), "{what}");
            let mut expected = vec![entry_path(&profiles, "ada"), entry_path(&profiles, "grace")];
            expected.sort();
            assert_eq!(
                entry_files(dir),
                expected,
                "{what}: one file per key, named by the key's text"
            );
            let snapshot = profiles.snapshot();
            assert_eq!(
                (snapshot.inserts, snapshot.hits, snapshot.misses),
                (3, 1, 0),
                "{what}"
            );
        }
        // A new manager over the same folder: the values come from the files.
        let manager = build();
        let profiles = manager.region::<Profiles>().expect("region");
        assert_eq!(
            profiles.get(&"ada".into()).await,
            Some(profile(8, "Ada L.")),
            "{what}"
        );
        assert_eq!(
            profiles.get(&"grace".into()).await,
            Some(profile(1, "Grace")),
            "{what}"
        );
        assert_eq!(profiles.get(&"nobody".into()).await, None, "{what}");
        assert_eq!(
            manager
                .get_json_blocking("mdisk-profiles", &"grace".into())
                .expect("get_json"),
            Some(serde_json::to_value(profile(1, "Grace")).expect("json")),
            "{what}"
        );
        assert_eq!(profiles.len(), Some(2), "{what}");
        let snapshot = profiles.snapshot();
        assert_eq!(
            (
                snapshot.hits,
                snapshot.misses,
                snapshot.inserts,
                snapshot.errors.total()
            ),
            (3, 1, 0, 0),
            "{what}"
        );
        assert_eq!(snapshot.gets(), snapshot.hits + snapshot.misses);
        manager.shutdown().expect("shutdown");
    }
}

/// Gets `key` until it is a miss; panics after [`DEADLINE`].
fn poll_until_missing<K, V>(handle: &RegionHandle<K, V>, key: &K) -> u64
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + std::fmt::Debug + 'static,
    V: Clone + Send + Sync + 'static,
{
    let start = Instant::now();
    let mut hits = 0;
    while handle.get_blocking(key).is_some() {
        hits += 1;
        assert!(
            start.elapsed() < DEADLINE,
            "{key:?} still cached after {DEADLINE:?}"
        );
        handle.run_pending_tasks();
        std::thread::sleep(Duration::from_millis(25));
    }
    hits
}

#[test]
fn disk_entries_expire_by_the_region_ttl_and_their_own() {
    let scratch = Scratch::new("mdisk", "ttl");
    let manager = sync_manager(scratch.path());

    let short = manager.region::<ShortLived>().expect("region");
    assert!(short.insert_blocking("k".into(), profile(1, "short")));
    let path = entry_path(&short, "k");
    assert!(path.exists());
    let hits = poll_until_missing(&short, &"k".to_owned());
    assert!(!path.exists(), "the expired file is removed when read");
    let snapshot = short.snapshot();
    assert_eq!(
        (
            snapshot.hits,
            snapshot.misses,
            snapshot.evictions.expired,
            snapshot.errors.total()
        ),
        (hits, 1, 1, 0)
    );
    assert_eq!(short.get_blocking(&"k".into()), None);
    assert_eq!(
        short.snapshot().evictions.expired,
        1,
        "a missing file is a plain miss"
    );

    // An entry's own TTL, shorter than the region's hour.
    let profiles = manager.region::<Profiles>().expect("region");
    assert!(profiles.insert_with_ttl_blocking(
        "brief".into(),
        profile(2, "brief"),
        Duration::from_millis(200)
    ));
    assert!(profiles.insert_blocking("lasting".into(), profile(3, "lasting")));
    poll_until_missing(&profiles, &"brief".to_owned());
    assert_eq!(
        profiles.get_blocking(&"lasting".into()),
        Some(profile(3, "lasting"))
    );
    assert_eq!(profiles.snapshot().evictions.expired, 1);
    // And an own TTL longer than the region's is capped by it.
    assert!(short.insert_with_ttl_blocking(
        "capped".into(),
        profile(4, "capped"),
        Duration::from_secs(3600)
    ));
    poll_until_missing(&short, &"capped".to_owned());
    assert_eq!(short.snapshot().evictions.expired, 2);
}

/// Writes `bytes` over `path`, reads `key` through `get`, and checks it is
/// a miss and the file is gone.
fn assert_damaged_is_a_miss(
    path: &Path,
    bytes: &[u8],
    what: &str,
    get: impl FnOnce() -> Option<Profile>,
) {
    fs::write(path, bytes).expect("write the damaged file");
    let read = get();
    assert_eq!(read, None, "{what}: read back as a value");
    assert!(!path.exists(), "{what}: the damaged file was not removed");
}

/// The byte offsets to damage: every one for small files, a dense sample
/// (every byte of the first and last 512, every 7th between) otherwise.
fn offsets(len: usize) -> Vec<usize> {
    (0..len)
        .filter(|i| len <= 2048 || *i < 512 || *i + 512 >= len || i % 7 == 0)
        .collect()
}

#[test]
fn every_truncation_and_bit_flip_of_an_entry_file_is_a_counted_miss() {
    let scratch = Scratch::new("mdisk", "damage");
    let manager = sync_manager(scratch.path());
    let region = manager.region::<Damage>().expect("region");
    let key = String::from("victim");
    let value = profile(12, "Victim");
    assert!(region.insert_blocking(key.clone(), value.clone()));
    let path = entry_path(&region, &key);
    assert_eq!(
        entry_files(region.disk_dir().expect("dir")),
        vec![path.clone()]
    );
    let bytes = fs::read(&path).expect("read the entry file");
    assert!(bytes.len() > 100, "{} bytes", bytes.len());

    let mut damaged = 0u64;
    for len in 0..bytes.len() {
        assert_damaged_is_a_miss(&path, &bytes[..len], &format!("{len} bytes"), || {
            region.get_blocking(&key)
        });
        damaged += 1;
    }
    let mut longer = bytes.clone();
    longer.push(b'\n');
    assert_damaged_is_a_miss(&path, &longer, "one byte appended", || {
        region.get_blocking(&key)
    });
    damaged += 1;
    let mut flipped = bytes.clone();
    for offset in offsets(bytes.len()) {
        for bit in 0..8 {
            flipped[offset] ^= 1 << bit;
            assert_damaged_is_a_miss(&path, &flipped, &format!("byte {offset} bit {bit}"), || {
                region.get_blocking(&key)
            });
            flipped[offset] ^= 1 << bit;
            damaged += 1;
        }
    }
    let snapshot = region.snapshot();
    assert_eq!(
        (
            snapshot.hits,
            snapshot.misses,
            snapshot.errors.corrupt,
            snapshot.evictions.expired
        ),
        (0, damaged, damaged, 0)
    );

    // The intact bytes still read: the damage, not the setup, made the misses.
    fs::write(&path, &bytes).expect("restore");
    assert_eq!(region.get_blocking(&key), Some(value.clone()));

    // Another key's file under this key's name.
    assert!(region.insert_blocking("alice".into(), profile(1, "Alice")));
    let alice = entry_path(&region, "alice");
    fs::copy(&alice, &path).expect("copy alice's file over the victim's");
    assert_damaged_is_a_miss(
        &path,
        &fs::read(&alice).expect("read"),
        "alice's file",
        || region.get_blocking(&key),
    );
    assert_eq!(
        region.get_blocking(&"alice".into()),
        Some(profile(1, "Alice")),
        "alice's own file is untouched"
    );
    let snapshot = region.snapshot();
    assert_eq!(
        (snapshot.hits, snapshot.errors.corrupt),
        (2, damaged + 1),
        "{snapshot:?}"
    );
    assert_eq!(snapshot.gets(), snapshot.hits + snapshot.misses);
}

#[test]
fn damaged_files_of_a_hybrid_region_read_through_fresh_managers_are_misses() {
    let scratch = Scratch::new("mdisk", "damage-hybrid");
    let key = String::from("victim");
    let value = profile(5, "Victim");
    let (path, bytes) = {
        let manager = sync_manager(scratch.path());
        let region = manager.region::<DamageHybrid>().expect("region");
        assert!(region.insert_blocking(key.clone(), value.clone()));
        let path = entry_path(&region, &key);
        let bytes = fs::read(&path).expect("read the entry file");
        (path, bytes)
    };
    // Each read through a new manager, whose memory level is empty, so it
    // reaches the file. A sample of offsets: a manager per read.
    let len = bytes.len();
    let mut cases: Vec<(String, Vec<u8>)> = [0, 1, 4, 8, 16, len / 3, len / 2, len - 1]
        .into_iter()
        .map(|cut| (format!("{cut} bytes"), bytes[..cut].to_vec()))
        .collect();
    for offset in (0..len).step_by((len / 24).max(1)) {
        let mut flipped = bytes.clone();
        flipped[offset] ^= 0x10;
        cases.push((format!("byte {offset} flipped"), flipped));
    }
    for (what, damaged) in &cases {
        let manager = sync_manager(scratch.path());
        let region = manager.region::<DamageHybrid>().expect("region");
        assert_damaged_is_a_miss(&path, damaged, what, || region.get_blocking(&key));
        // The miss was not promoted into memory either.
        assert_eq!(region.get_blocking(&key), None, "{what}");
        let snapshot = region.snapshot();
        assert_eq!(
            (snapshot.misses, snapshot.errors.corrupt, snapshot.hits),
            (2, 1, 0),
            "{what}"
        );
    }
    fs::write(&path, &bytes).expect("restore");
    let manager = sync_manager(scratch.path());
    let region = manager.region::<DamageHybrid>().expect("region");
    assert_eq!(region.get_blocking(&key), Some(value));
}

/// An older shape of a region's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Version1 {
    id: u64,
    name: String,
}

/// The value after an incompatible change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Version2 {
    id: u64,
    display_name: String,
    created_ms: u64,
}

#[test]
fn values_that_no_longer_deserialize_are_counted_misses() {
    let scratch = Scratch::new("mdisk", "retyped");
    let descriptor = || {
        RegionDescriptor::builder("mdisk-retyped-by-hand")
            .tier(Tier::Disk)
            .build()
            .expect("descriptor")
    };
    let manager_with = |codecs_v2: bool| {
        let builder = CacheManager::builder()
            .disk_root(scratch.path())
            .write_behind(0)
            .background_stats(false);
        let builder = if codecs_v2 {
            builder.region_with(descriptor(), RegionCodecs::<String, Version2>::serde())
        } else {
            builder.region_with(descriptor(), RegionCodecs::<String, Version1>::serde())
        };
        builder.build().expect("manager")
    };
    let path = {
        let manager = manager_with(false);
        let v1 = manager
            .region_named::<String, Version1>("mdisk-retyped-by-hand")
            .expect("region");
        for i in 0..3u64 {
            assert!(v1.insert_blocking(
                format!("k{i}"),
                Version1 {
                    id: i,
                    name: format!("n{i}")
                }
            ));
        }
        entry_path(&v1, "k0")
    };
    assert!(path.exists());
    let manager = manager_with(true);
    let v2 = manager
        .region_named::<String, Version2>("mdisk-retyped-by-hand")
        .expect("region");
    assert_eq!(v2.get_blocking(&"k0".into()), None);
    assert!(!path.exists(), "the undecodable entry is removed");
    assert_eq!(
        manager
            .get_json_blocking("mdisk-retyped-by-hand", &"k1".into())
            .expect("get_json"),
        None
    );
    let snapshot = v2.snapshot();
    assert_eq!(
        (snapshot.hits, snapshot.misses, snapshot.errors.corrupt),
        (0, 2, 2)
    );
    // New values of the new type are stored and read normally.
    let fresh = Version2 {
        id: 9,
        display_name: String::from("nine"),
        created_ms: 1,
    };
    assert!(v2.insert_blocking("k0".into(), fresh.clone()));
    assert_eq!(v2.get_blocking(&"k0".into()), Some(fresh));
    assert_eq!(v2.len(), Some(2), "k0 rewritten, k2 still the old file");

    // A declared region read by a hand-registered one of the same name with
    // another value type: the declaration's schema fingerprint (cache-build
    // computes one for this package) or the JSON itself tells them apart.
    let declared_path = {
        let manager = sync_manager(scratch.path());
        let declared = manager.region::<Retyped>().expect("region");
        assert!(declared.insert_blocking("p".into(), profile(3, "P")));
        entry_path(&declared, "p")
    };
    let manager = CacheManager::builder()
        .without_linked_regions()
        .disk_root(scratch.path())
        .write_behind(0)
        .background_stats(false)
        .region_with(
            RegionDescriptor::builder(Retyped::DESCRIPTOR.name().to_owned())
                .tier(Tier::Disk)
                .build()
                .expect("descriptor"),
            RegionCodecs::<String, Vec<u64>>::serde(),
        )
        .build()
        .expect("manager");
    let retyped = manager
        .region_named::<String, Vec<u64>>("mdisk-retyped")
        .expect("region");
    assert_eq!(retyped.get_blocking(&"p".into()), None);
    assert!(!declared_path.exists());
    assert_eq!(retyped.snapshot().errors.corrupt, 1);
}

/// Set for the child process of the SIGKILL test: the disk root it writes to.
const CHILD_ENV: &str = "CACHE_TESTS_MDISK_SIGKILL_CHILD";
const CHILD_KEYS: u32 = 4;

/// A large value that names its key and generation and can be checked
/// exactly (its body depends on both).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Payload {
    key: u32,
    generation: u64,
    body: String,
}

fn payload(key: u32, generation: u64) -> Payload {
    let len = 96 * 1024 + (generation % 4) as usize * 64 * 1024;
    let seed = (key as u64).wrapping_mul(31).wrapping_add(generation);
    let body = (0..len)
        .map(|i| char::from(b'a' + ((i as u64).wrapping_mul(7).wrapping_add(seed) % 26) as u8))
        .collect();
    Payload {
        key,
        generation,
        body,
    }
}

fn ready_marker(root: &Path, pid: u32) -> PathBuf {
    root.join(format!("ready-{pid}"))
}

/// Not a test on its own: the child process of
/// `sigkill_while_writing_through_the_manager_leaves_no_torn_entry`, which
/// runs this binary with [`CHILD_ENV`] set. Without it, it returns at once.
#[test]
fn sigkill_child_writer() {
    let Some(root) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let root = PathBuf::from(root);
    let manager = sync_manager(&root);
    let region = manager.region::<Killed>().expect("region");
    fs::write(ready_marker(&root, std::process::id()), b"").expect("ready marker");
    let first = std::env::var("CACHE_TESTS_MDISK_FIRST_GENERATION")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(0u64);
    for generation in first.. {
        for key in 0..CHILD_KEYS {
            assert!(region.insert_blocking(key, payload(key, generation)));
        }
    }
}

#[cfg(unix)]
#[test]
fn sigkill_while_writing_through_the_manager_leaves_no_torn_entry() {
    use std::process::{Command, Stdio};

    let scratch = Scratch::new("mdisk", "sigkill");
    let exe = std::env::current_exe().expect("test binary");
    let mut seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let region_dir = scratch.path().join(Killed::DESCRIPTOR.name());
    let mut seen = 0u64;
    for round in 0..6u64 {
        let mut child = Command::new(&exe)
            .args(["sigkill_child_writer", "--exact", "--test-threads=1"])
            .env(CHILD_ENV, scratch.path())
            .env(
                "CACHE_TESTS_MDISK_FIRST_GENERATION",
                (round * 1_000).to_string(),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the writer");
        let ready = ready_marker(scratch.path(), child.id());
        let start = Instant::now();
        // Wait until it writes; in the first round, until a first entry is
        // on disk, so the rounds surely leave something to read.
        while !ready.exists() || (round == 0 && entry_files(&region_dir).is_empty()) {
            if let Some(status) = child.try_wait().expect("poll the child") {
                panic!("the writer exited on its own: {status}");
            }
            assert!(start.elapsed() < DEADLINE, "the writer did not start");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(random() % 40));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        fs::remove_file(&ready).expect("remove the marker");

        // A fresh manager reads every key: absent, or whole and right.
        let manager = sync_manager(scratch.path());
        let region = manager.region::<Killed>().expect("region");
        for key in 0..CHILD_KEYS {
            if let Some(value) = region.get_blocking(&key) {
                assert_eq!(value.key, key, "round {round}: another key's value");
                assert!(
                    value == payload(key, value.generation),
                    "round {round}: key {key}'s value differs from its generation's"
                );
                assert!(
                    value.generation / 1_000 <= round,
                    "round {round}: from the future"
                );
                seen += 1;
            }
        }
        let snapshot = region.snapshot();
        assert_eq!(
            (snapshot.errors.total(), snapshot.evictions.total()),
            (0, 0),
            "round {round}: {snapshot:?}"
        );
    }
    assert!(seen > 0, "no entry was ever read back");

    // Whatever temporary files the kills left, cleanup removes once they
    // are older than the store's grace period.
    let temps = temp_files(&region_dir);
    for temp in &temps {
        age_file(temp, Duration::from_secs(3600));
    }
    let entries = entry_files(&region_dir).len() as u64;
    let manager = sync_manager(scratch.path());
    let report = manager
        .cleanup(Killed::DESCRIPTOR.name())
        .expect("cleanup")
        .expect("a disk level");
    assert_eq!(
        (
            report.corrupt,
            report.stale,
            report.expired,
            report.kept,
            report.orphaned_temp
        ),
        (0, 0, 0, entries, temps.len() as u64),
        "{report:?}"
    );
    assert!(temp_files(&region_dir).is_empty());
}

#[test]
fn cleanup_counts_expired_corrupt_stale_and_orphaned_files() {
    let scratch = Scratch::new("mdisk", "cleanup");
    let manager = sync_manager(scratch.path());
    let region = manager.region::<CleanupRegion>().expect("region");
    let dir = region.disk_dir().expect("dir").to_path_buf();
    for i in 0..4 {
        assert!(region.insert_blocking(format!("live-{i}"), format!("v{i}")));
    }
    let ttl = Duration::from_millis(100);
    for i in 0..3 {
        assert!(region.insert_with_ttl_blocking(format!("expiring-{i}"), String::from("e"), ttl));
    }
    let written = SystemTime::now();
    for i in 0..2 {
        let key = format!("corrupt-{i}");
        assert!(region.insert_blocking(key.clone(), String::from("c")));
        let path = entry_path(&region, &key);
        let bytes = fs::read(&path).expect("read");
        fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    }
    // An entry of another schema (an older version of the region).
    DiskStore::builder(&dir)
        .schema(Schema::new(99))
        .build()
        .expect("old store")
        .put(b"stale", b"\"old\"", None)
        .expect("put");
    // Temporary files left by killed writers, and one being written now.
    for i in 0..2 {
        let orphan = dir.join(format!("{TEMP_PREFIX}orphan-{i}"));
        fs::write(&orphan, b"half a write").expect("temp");
        age_file(&orphan, Duration::from_secs(3600));
    }
    let young = dir.join(format!("{TEMP_PREFIX}young"));
    fs::write(&young, b"in progress").expect("temp");
    fs::write(dir.join("notes.txt"), b"not ours").expect("foreign");
    // Past the expiring entries' TTL by the wall clock the store reads.
    while SystemTime::now() < written + ttl + Duration::from_millis(20) {
        std::thread::sleep(Duration::from_millis(10));
    }

    let report = region.cleanup().expect("cleanup").expect("a disk level");
    assert_eq!(
        (
            report.expired,
            report.corrupt,
            report.stale,
            report.orphaned_temp,
            report.kept
        ),
        (3, 2, 1, 2, 4),
        "{report:?}"
    );
    assert_eq!(report.removed(), 8);
    assert!(
        young.exists(),
        "a young temporary file may be a write in progress"
    );
    assert!(dir.join("notes.txt").exists(), "foreign files stay");
    assert_eq!(entry_files(&dir).len(), 4);
    for i in 0..4 {
        assert_eq!(
            region.get_blocking(&format!("live-{i}")),
            Some(format!("v{i}"))
        );
    }
    // By name, a second time: nothing left to remove.
    let again = manager
        .cleanup("mdisk-cleanup")
        .expect("cleanup")
        .expect("a disk level");
    assert_eq!((again.removed(), again.kept), (0, 4));
    // A memory region has no disk level to clean.
    manager.region::<MemoryOnly>().expect("region");
    assert_eq!(manager.cleanup("mdisk-memory-only").expect("cleanup"), None);
}

#[test]
fn hybrid_memory_hits_do_not_touch_the_disk() {
    let scratch = Scratch::new("mdisk", "hybrid-memory");
    let manager = sync_manager(scratch.path());
    let hybrid = manager.region::<Hybrid>().expect("region");
    assert!(hybrid.insert_blocking("ada".into(), profile(7, "Ada")));
    hybrid.flush().expect("flush");
    let path = entry_path(&hybrid, "ada");
    assert!(path.exists(), "written through to disk");
    fs::remove_file(&path).expect("delete the file");
    for _ in 0..3 {
        assert_eq!(
            hybrid.get_blocking(&"ada".into()),
            Some(profile(7, "Ada")),
            "served from memory"
        );
    }
    assert!(!path.exists(), "a memory hit does not rewrite the file");
    let snapshot = hybrid.snapshot();
    assert_eq!((snapshot.hits, snapshot.misses), (3, 0));
    // The file was the only disk copy: a new manager misses.
    let other = sync_manager(scratch.path());
    assert_eq!(
        other
            .region::<Hybrid>()
            .expect("region")
            .get_blocking(&"ada".into()),
        None
    );
}

#[test]
fn hybrid_memory_misses_read_the_disk_and_promote() {
    let scratch = Scratch::new("mdisk", "hybrid-promote");
    {
        let manager = CacheManager::builder()
            .disk_root(scratch.path())
            .background_stats(false)
            .build()
            .expect("manager");
        let hybrid = manager.region::<Hybrid>().expect("region");
        for i in 0..3 {
            assert!(hybrid.insert_blocking(format!("p{i}"), profile(i, "P")));
        }
        manager.shutdown().expect("shutdown");
    }
    let manager = sync_manager(scratch.path());
    let hybrid = manager.region::<Hybrid>().expect("region");
    hybrid.run_pending_tasks();
    // The region holds what its disk level holds; memory starts empty.
    assert_eq!(hybrid.len(), Some(3), "the entry files");
    let tiers = hybrid
        .snapshot()
        .tiers
        .expect("a hybrid region counts per tier");
    assert_eq!((tiers.l1_hits, tiers.l2_hits, tiers.l2_misses), (0, 0, 0));
    assert_eq!(hybrid.get_blocking(&"p1".into()), Some(profile(1, "P")));
    hybrid.run_pending_tasks();
    assert_eq!(hybrid.len(), Some(3), "a promotion adds no entry");
    fs::remove_file(entry_path(&hybrid, "p1")).expect("delete the file");
    assert_eq!(
        hybrid.get_blocking(&"p1".into()),
        Some(profile(1, "P")),
        "a memory hit now"
    );
    // The others are still read from disk.
    assert_eq!(hybrid.get_blocking(&"p2".into()), Some(profile(2, "P")));
    assert_eq!(hybrid.get_blocking(&"p9".into()), None);
    hybrid.run_pending_tasks();
    let snapshot = hybrid.snapshot();
    assert_eq!(
        (
            snapshot.hits,
            snapshot.misses,
            snapshot.inserts,
            snapshot.entries
        ),
        (3, 1, 0, Some(2)),
        "a promotion is not an insert"
    );
    // As on every tier with a second level: which level answered.
    let tiers = snapshot.tiers.expect("tiers");
    assert_eq!(
        (
            tiers.l1_hits,
            tiers.l2_hits,
            tiers.l2_misses,
            tiers.l2_rejected
        ),
        (1, 2, 1, 0)
    );
    // The same figures in the metrics, one tier apart from the other.
    let text = manager.prometheus();
    let region = Hybrid::DESCRIPTOR.name();
    for (labels, value) in [
        ("tier=\"memory\",result=\"hit\"", 1),
        ("tier=\"memory\",result=\"miss\"", 3),
        ("tier=\"disk\",result=\"hit\"", 2),
        ("tier=\"disk\",result=\"miss\"", 1),
        ("tier=\"disk\",result=\"rejected\"", 0),
    ] {
        let line = format!("cache_tier_gets_total{{region=\"{region}\",{labels}}} {value}\n");
        assert!(text.contains(&line), "{line} in\n{text}");
    }
}

#[test]
fn hybrid_memory_ttl_falls_back_to_disk_until_the_disk_ttl() {
    let scratch = Scratch::new("mdisk", "hybrid-ttl");
    let key = String::from("k");
    let reader_manager = sync_manager(scratch.path());
    let reader = reader_manager.region::<HybridTtl>().expect("region");
    let inserted = Instant::now();
    assert!(reader.insert_blocking(key.clone(), String::from("memory copy")));
    // Another process (here a second manager) rewrites the disk copy; the
    // reader's memory level keeps its own until the memory TTL.
    let writer_manager = sync_manager(scratch.path());
    let writer = writer_manager.region::<HybridTtl>().expect("region");
    assert!(writer.insert_blocking(key.clone(), String::from("disk copy")));
    let rewritten = Instant::now();
    let first = reader.get_blocking(&key);
    if inserted.elapsed() < Duration::from_millis(250) {
        assert_eq!(first.as_deref(), Some("memory copy"));
    }
    // After the memory TTL (300 ms), the value comes from disk.
    let start = Instant::now();
    loop {
        match reader.get_blocking(&key).as_deref() {
            Some("disk copy") => break,
            Some("memory copy") => {}
            other => {
                // Only a machine stalled past the disk TTL gets here.
                assert!(
                    rewritten.elapsed() >= Duration::from_secs(2),
                    "read {other:?}"
                );
                break;
            }
        }
        assert!(start.elapsed() < DEADLINE, "the memory copy never expired");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Until the disk TTL (2 s), the reader keeps reading: each memory
    // expiry re-promotes the disk copy, for no longer than the time the
    // disk entry has left. An observer that never promoted it watches the
    // file (listing, which does not remove it); once the entry has expired
    // there, the reader's promoted copy must be gone too.
    let observer_manager = sync_manager(scratch.path());
    let observer = observer_manager.region::<HybridTtl>().expect("region");
    let on_disk = || {
        !observer
            .entries_blocking(&cache_runtime::manager::EntryQuery::first(10))
            .expect("entries")
            .entries
            .is_empty()
    };
    let start = Instant::now();
    loop {
        let read = reader.get_blocking(&key);
        if !on_disk() {
            break;
        }
        assert_eq!(read.as_deref(), Some("disk copy"), "before the disk TTL");
        assert!(start.elapsed() < DEADLINE, "the disk copy never expired");
        std::thread::sleep(Duration::from_millis(10));
    }
    // (Past the millisecond the expiry times are rounded to.)
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        reader.get_blocking(&key),
        None,
        "the promoted copy outlived the disk entry"
    );
    assert_eq!(observer.get_blocking(&key), None);
    let snapshot = reader.snapshot();
    assert!(snapshot.evictions.expired >= 1, "{snapshot:?}");
    assert_eq!(snapshot.gets(), snapshot.hits + snapshot.misses);
    assert_eq!(snapshot.errors.total(), 0);
}

#[test]
fn write_behind_loses_nothing_acknowledged() {
    // The default queue, and a small one that makes the writer wait.
    for (capacity, count) in [(None, 1_000u32), (Some(4), 200)] {
        let scratch = Scratch::new("mdisk", &format!("write-behind-{}", capacity.unwrap_or(0)));
        {
            let mut builder = CacheManager::builder()
                .disk_root(scratch.path())
                .background_stats(false);
            if let Some(capacity) = capacity {
                builder = builder.write_behind(capacity);
            }
            let manager = builder.build().expect("manager");
            let bulk = manager.region::<Bulk>().expect("region");
            for i in 0..count {
                assert!(bulk.insert_blocking(i, format!("value-{i}")));
            }
            manager.shutdown().expect("shutdown");
        }
        let manager = sync_manager(scratch.path());
        let bulk = manager.region::<Bulk>().expect("region");
        assert_eq!(bulk.len(), Some(u64::from(count)), "capacity {capacity:?}");
        for i in 0..count {
            assert_eq!(
                bulk.get_blocking(&i),
                Some(format!("value-{i}")),
                "capacity {capacity:?}: entry {i}"
            );
        }
        assert_eq!(bulk.snapshot().hits, u64::from(count));
    }
}

#[cfg(feature = "lz4")]
#[test]
fn compressed_regions_round_trip_and_compress() {
    let scratch = Scratch::new("mdisk", "lz4");
    let big: String = "model gpt context 128000 tokens; "
        .repeat(2_000)
        .chars()
        .collect();
    let small = String::from("tiny");
    let (big_len, small_len) = {
        let manager = sync_manager(scratch.path());
        let region = manager.region::<Compressed>().expect("region");
        assert!(region.insert_blocking("big".into(), big.clone()));
        assert!(region.insert_blocking("small".into(), small.clone()));
        let len = |key: &str| {
            fs::metadata(entry_path(&region, key))
                .expect("metadata")
                .len()
        };
        (len("big"), len("small"))
    };
    let json_len = serde_json::to_vec(&big).expect("json").len() as u64;
    assert!(cache_runtime::backend::Envelope::supports(
        cache_runtime::config::Codec::Lz4
    ));
    assert!(
        big_len < json_len / 4,
        "{big_len} bytes on disk for {json_len}"
    );
    assert!(small_len > small.len() as u64, "below the threshold");
    let manager = sync_manager(scratch.path());
    let region = manager.region::<Compressed>().expect("region");
    assert_eq!(region.get_blocking(&"big".into()), Some(big));
    assert_eq!(region.get_blocking(&"small".into()), Some(small));
    assert_eq!(region.snapshot().errors.total(), 0);
}

#[test]
fn hybrid_removals_count_entries_held_only_on_disk() {
    let scratch = Scratch::new("mdisk", "hybrid-removals");
    {
        let manager = sync_manager(scratch.path());
        let hybrid = manager.region::<Hybrid>().expect("region");
        for i in 0..6 {
            assert!(hybrid.insert_blocking(format!("p{i}"), profile(i, "P")));
        }
    }
    // A new manager: every entry is on disk, none in memory until read.
    let manager = sync_manager(scratch.path());
    let hybrid = manager.region::<Hybrid>().expect("region");
    let removals = || {
        hybrid.run_pending_tasks();
        hybrid.snapshot().removals
    };
    assert!(hybrid.remove_blocking(&"p0".into()), "only on disk");
    assert_eq!(removals(), 1);
    assert!(hybrid.get_blocking(&"p1".into()).is_some());
    assert!(
        hybrid.remove_blocking(&"p1".into()),
        "promoted: in both levels"
    );
    assert_eq!(removals(), 2, "counted once");
    assert!(!hybrid.remove_blocking(&"p1".into()));
    assert_eq!(removals(), 2);
    assert!(hybrid.get_blocking(&"p2".into()).is_some());
    assert_eq!(
        hybrid
            .clear_matching_blocking("p[23]")
            .expect("clear_matching"),
        2
    );
    let cleared = || hybrid.snapshot().cleared;
    assert_eq!(removals(), 2, "a clear is not a removal");
    assert_eq!(cleared(), 2, "one promoted, one only on disk");
    assert!(hybrid.get_blocking(&"p4".into()).is_some());
    assert_eq!(hybrid.clear_blocking().expect("clear"), 2);
    assert_eq!(cleared(), 4, "one promoted, one only on disk");
    assert!(entry_files(hybrid.disk_dir().expect("dir")).is_empty());
    for i in 0..6 {
        assert_eq!(hybrid.get_blocking(&format!("p{i}")), None);
    }
}

#[cache_region(name = "mdisk-binary", key = String, value = Profile, tier = "disk")]
struct BinaryProfiles;

/// A value postcard cannot carry: serialized without its absent field,
/// which postcard (not self-describing) reads back wrong. `{note: None,
/// rows: [[0]]}` is the bytes `[1, 1, 0]`, which read back as `{note:
/// Some(1), rows: []}` and write the same bytes again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Sparse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<u8>,
    rows: Vec<Vec<u8>>,
}

#[cache_region(name = "mdisk-sparse", key = String, value = Sparse, tier = "disk")]
struct SparseValues;

fn json_manager(root: &Path) -> CacheManager {
    CacheManager::builder()
        .disk_root(root)
        .write_behind(0)
        .json_values()
        .background_stats(false)
        .build()
        .expect("manager")
}

/// Values persist in the compact binary format by default: they read back,
/// show as JSON to tools, are smaller than their JSON; a manager persisting
/// JSON reads them, and the default manager reads what it wrote.
#[test]
fn binary_values_by_default_and_json_entries_stay_readable() {
    let scratch = Scratch::new("mdisk", "binary");
    let binary = sync_manager(scratch.path());
    let handle = binary.region::<BinaryProfiles>().expect("region");
    let ada = profile(7, "Ada");
    assert!(handle.insert_blocking("ada".into(), ada.clone()));
    let file = entry_path(&handle, "ada");
    let binary_len = fs::metadata(&file).expect("entry file").len();
    let page = binary
        .entries_blocking(
            "mdisk-binary",
            &cache_runtime::manager::EntryQuery::first(10),
        )
        .expect("entries");
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].value["name"], "Ada");
    drop(handle);
    drop(binary);

    // A JSON manager reads the binary entry, and writes JSON.
    let json = json_manager(scratch.path());
    let handle = json.region::<BinaryProfiles>().expect("region");
    assert_eq!(handle.get_blocking(&"ada".into()), Some(ada.clone()));
    assert_eq!(handle.snapshot().errors.corrupt, 0);
    assert!(handle.insert_blocking("grace".into(), profile(9, "Grace")));
    assert!(handle.insert_blocking("ada".into(), ada.clone()));
    let json_len = fs::metadata(&file).expect("entry file").len();
    assert!(
        binary_len < json_len,
        "binary {binary_len} bytes, JSON {json_len}"
    );
    drop(handle);
    drop(json);

    // The default manager reads the JSON entries.
    let reread = sync_manager(scratch.path());
    let handle = reread.region::<BinaryProfiles>().expect("region");
    assert_eq!(handle.get_blocking(&"ada".into()), Some(ada));
    assert_eq!(
        handle.get_blocking(&"grace".into()),
        Some(profile(9, "Grace"))
    );
    assert_eq!(handle.snapshot().errors.corrupt, 0);
}

/// A value whose type postcard cannot read back (a field skipped when
/// absent) is written as JSON, and reads back, present or absent.
#[test]
fn a_value_postcard_cannot_carry_is_written_as_json() {
    let scratch = Scratch::new("mdisk", "sparse");
    let manager = sync_manager(scratch.path());
    let handle = manager.region::<SparseValues>().expect("region");
    let without = Sparse {
        note: None,
        rows: vec![vec![0]],
    };
    let with = Sparse {
        note: Some(3),
        rows: Vec::new(),
    };
    assert!(handle.insert_blocking("without".into(), without.clone()));
    assert!(handle.insert_blocking("with".into(), with.clone()));
    let written = fs::read(entry_path(&handle, "without")).expect("entry file");
    assert!(
        written.windows(7).any(|w| w == b"\"rows\":"),
        "written as JSON"
    );
    let written = fs::read(entry_path(&handle, "with")).expect("entry file");
    assert!(
        !written.windows(7).any(|w| w == b"\"rows\":"),
        "a value that reads back stays binary"
    );
    let page = manager
        .entries_blocking(
            "mdisk-sparse",
            &cache_runtime::manager::EntryQuery::first(10),
        )
        .expect("entries");
    let mut shown: Vec<String> = page.entries.iter().map(|e| e.value.to_string()).collect();
    shown.sort();
    assert_eq!(shown, [r#"{"note":3,"rows":[]}"#, r#"{"rows":[[0]]}"#]);
    drop(handle);
    drop(manager);
    let manager = sync_manager(scratch.path());
    let handle = manager.region::<SparseValues>().expect("region");
    assert_eq!(handle.get_blocking(&"without".into()), Some(without));
    assert_eq!(handle.get_blocking(&"with".into()), Some(with));
    assert_eq!(handle.snapshot().errors.corrupt, 0);
}

#[cache_region(name = "mdisk-refused", key = String, value = String, tier = "disk")]
struct Refused;

#[cache_region(name = "mdisk-refused-hybrid", key = String, value = String, tier = "hybrid")]
struct RefusedHybrid;

/// A write the disk could not make is never reported as stored: a key over
/// the envelope's 64 KiB, a value over 512 MiB (not tried: the memory), a
/// directory where the entry file goes. `try_insert` says why, `insert`
/// returns `false`; both count an I/O error and announce the refusal, and
/// what was stored before is untouched. A hybrid region keeps the value in
/// memory, as it does when Redis fails.
#[test]
fn writes_the_disk_refuses_are_errors_not_silent_drops() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    for write_behind in [0, 64] {
        let scratch = Scratch::new("mdisk", &format!("refused-{write_behind}"));
        let manager = CacheManager::builder()
            .disk_root(scratch.path())
            .write_behind(write_behind)
            .background_stats(false)
            .build()
            .expect("manager");
        let mut events = manager.subscribe();
        let region = manager.region::<Refused>().expect("region");
        assert!(region.insert_blocking("kept".into(), "old".into()));

        // The largest key an envelope holds is stored and read back: the
        // envelope's 64 KiB hold the region's name, a colon and the key.
        let largest = "l".repeat(64 * 1024 - "mdisk-refused:".len());
        assert!(region.insert_blocking(largest.clone(), "big".into()));
        assert_eq!(region.get_blocking(&largest), Some("big".into()));
        assert!(region.remove_blocking(&largest));
        for huge in [largest.len() + 1, 1024 * 1024] {
            let key = "k".repeat(huge);
            assert!(
                !region.insert_blocking(key.clone(), "v".into()),
                "insert of a {huge}-byte key reported as stored"
            );
            let error = runtime
                .block_on(region.try_insert(key.clone(), "v".into()))
                .expect_err("a key over the envelope's limit");
            let message = error.to_string();
            assert!(
                message.contains("mdisk-refused") && message.contains("too large"),
                "{message}"
            );
            assert_eq!(region.get_blocking(&key), None);
        }
        region.flush().expect("flush");
        assert_eq!(region.len(), Some(1), "only the entry stored before");
        assert_eq!(region.get_blocking(&"kept".into()), Some("old".into()));
        let snapshot = region.snapshot();
        assert_eq!(snapshot.inserts, 2, "refused writes are not inserts");
        assert_eq!(snapshot.errors.io, 4, "each refusal counted");
        let refusals = std::iter::from_fn(|| events.try_recv().ok())
            .filter(|event| event.kind == cache_runtime::manager::EventKind::WriteRefused)
            .count();
        assert_eq!(refusals, 4, "each refusal announced");

        // A directory where the entry file goes: the rename fails.
        if write_behind == 0 {
            fs::create_dir_all(entry_path(&region, "blocked")).expect("a directory in the way");
            assert!(!region.insert_blocking("blocked".into(), "v".into()));
            let error = runtime
                .block_on(region.try_insert("blocked".into(), "v".into()))
                .expect_err("a directory in the way");
            assert!(error.to_string().contains("cannot write"), "{error}");
            assert_eq!(region.get_blocking(&"blocked".into()), None);
        }

        // A hybrid region keeps what the disk refused in memory.
        let hybrid = manager.region::<RefusedHybrid>().expect("hybrid");
        let key = "h".repeat(64 * 1024 + 1);
        assert!(
            runtime
                .block_on(hybrid.try_insert(key.clone(), "v".into()))
                .expect("kept in memory")
        );
        assert_eq!(hybrid.get_blocking(&key), Some("v".into()));
        assert_eq!(hybrid.snapshot().errors.io, 1);
    }
}

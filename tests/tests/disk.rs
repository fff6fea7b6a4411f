//! The disk tier against real files: round trips, expiry, every way an entry
//! file can be damaged or misplaced (each a miss that removes the file,
//! never a wrong value), schema changes, cleanup, pattern clears,
//! write-behind, and a writer killed with SIGKILL mid-write.
//!
//! Each test works in its own folder under the system temp folder. Time is
//! injected through the store's clock; nothing sleeps to expire an entry.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_runtime::{
    backend::{Envelope, EnvelopeError, MissCause, Schema, ValueFormat},
    config::{Codec, Compression},
    disk::{DiskLookup, DiskStore, Glob, WriteBehind},
    stats::Clock,
};

mod support;
use support::Scratch;

/// A clock the test moves by hand.
fn manual_clock(start: u64) -> (Arc<AtomicU64>, impl Clock) {
    let now = Arc::new(AtomicU64::new(start));
    let clock = {
        let now = Arc::clone(&now);
        move || now.load(Ordering::Relaxed)
    };
    (now, clock)
}

fn schema() -> Schema {
    Schema::new(7)
        .with_fingerprint("5e1f0c")
        .with_format(ValueFormat::Json)
}

fn store(scratch: &Scratch) -> DiskStore {
    DiskStore::builder(scratch.path())
        .schema(schema())
        .build()
        .expect("store")
}

/// Names of the files in `dir`, sorted.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The codecs this build can compress with, `None` first.
fn codecs() -> Vec<Codec> {
    Codec::ALL
        .iter()
        .copied()
        .filter(|c| Envelope::supports(*c))
        .collect()
}

#[test]
fn round_trip_overwrite_and_remove() {
    let scratch = Scratch::unmade("disk", "round-trip");
    let store = store(&scratch);
    assert_eq!(store.get(b"user:1").expect("get"), None);
    store.put(b"user:1", b"{\"v\":1}", None).expect("put");
    assert_eq!(
        store.get(b"user:1").expect("get"),
        Some(b"{\"v\":1}".to_vec())
    );
    store.put(b"user:1", b"{\"v\":2}", None).expect("overwrite");
    assert_eq!(
        store.get(b"user:1").expect("get"),
        Some(b"{\"v\":2}".to_vec())
    );
    // Any key bytes make a safe file name.
    let odd_key = b"../../etc/passwd\0\xff/\\:*?";
    store.put(odd_key, b"odd", None).expect("put");
    assert_eq!(store.get(odd_key).expect("get"), Some(b"odd".to_vec()));
    assert!(store.path_for(odd_key).starts_with(scratch.path()));
    store.put(b"empty", b"", None).expect("put empty");
    assert_eq!(store.get(b"empty").expect("get"), Some(Vec::new()));
    assert_eq!(store.len().expect("len"), 3);
    assert!(store.remove(b"user:1").expect("remove"));
    assert_eq!(store.get(b"user:1").expect("get"), None);
    assert_eq!(store.len().expect("len"), 2);
    // Another store over the same folder reads the same entries.
    let again = DiskStore::builder(scratch.path())
        .schema(schema())
        .build()
        .expect("reopen");
    assert_eq!(again.get(odd_key).expect("get"), Some(b"odd".to_vec()));
}

#[test]
fn compressed_values_round_trip_with_every_available_codec() {
    let value: Vec<u8> = b"{\"model\":\"gpt\",\"tokens\":128000}"
        .iter()
        .copied()
        .cycle()
        .take(64 * 1024)
        .collect();
    for codec in codecs() {
        let scratch = Scratch::unmade("disk", &format!("compressed-{codec}"));
        let store = DiskStore::builder(scratch.path())
            .compression(Compression {
                codec,
                threshold: 1024,
            })
            .build()
            .expect("store");
        store.put(b"big", &value, None).expect("put");
        store.put(b"small", b"tiny", None).expect("put");
        let DiskLookup::Hit(big) = store.lookup(b"big").expect("lookup") else {
            panic!("{codec}: big value missing");
        };
        assert_eq!(big.value, value);
        assert_eq!(big.compression, codec);
        let file_len = fs::metadata(store.path_for(b"big"))
            .expect("metadata")
            .len();
        if codec != Codec::None {
            assert!(file_len < 8 * 1024, "{codec}: {file_len} bytes on disk");
        }
        let DiskLookup::Hit(small) = store.lookup(b"small").expect("lookup") else {
            panic!("{codec}: small value missing");
        };
        assert_eq!(small.compression, Codec::None, "below the threshold");
    }
}

#[test]
fn ttl_expiry_by_the_injected_clock() {
    let scratch = Scratch::unmade("disk", "ttl");
    let (now, clock) = manual_clock(1_700_000_000_000);
    let store = DiskStore::builder(scratch.path())
        .clock(clock)
        .build()
        .expect("store");
    store
        .put(b"short", b"v", Some(Duration::from_secs(60)))
        .expect("put");
    store.put(b"forever", b"v", None).expect("put");
    // Written an hour ago with a one-minute TTL: expired on arrival.
    now.fetch_sub(3_600_000, Ordering::Relaxed);
    store
        .put(b"stale", b"v", Some(Duration::from_secs(60)))
        .expect("put");
    now.fetch_add(3_600_000, Ordering::Relaxed);
    let lookup = store.lookup(b"stale").expect("lookup");
    let cause = lookup.rejection().map(EnvelopeError::cause);
    assert_eq!(cause, Some(MissCause::Expired), "{lookup:?}");
    assert!(!store.path_for(b"stale").exists(), "expired file removed");

    now.fetch_add(59_999, Ordering::Relaxed);
    assert!(store.get(b"short").expect("get").is_some(), "1 ms to go");
    now.fetch_add(1, Ordering::Relaxed);
    assert_eq!(store.get(b"short").expect("get"), None);
    now.fetch_add(10 * 365 * 24 * 3_600_000, Ordering::Relaxed);
    assert!(store.get(b"forever").expect("get").is_some());
}

/// Writes `bytes` as `key`'s entry file, reads it back, and checks it is a
/// miss (never a hit, never a panic) and the file is gone.
fn assert_rejected(store: &DiskStore, key: &[u8], bytes: &[u8], what: &str) -> EnvelopeError {
    let path = store.path_for(key);
    fs::write(&path, bytes).expect("write damaged file");
    let lookup = store.lookup(key).expect("lookup");
    let DiskLookup::Rejected(error) = lookup else {
        panic!("{what}: read back as {lookup:?}");
    };
    assert!(!path.exists(), "{what}: damaged file not removed");
    error
}

/// One entry file per available codec (plus a plain one), as written.
fn sample_files(scratch: &Scratch) -> Vec<(DiskStore, Vec<u8>)> {
    let value: Vec<u8> = (0..600u32).map(|i| (i % 13) as u8 + b'a').collect();
    codecs()
        .into_iter()
        .enumerate()
        .map(|(i, codec)| {
            let store = DiskStore::builder(scratch.join(&format!("{i}")))
                .schema(schema())
                .compression(Compression {
                    codec,
                    threshold: 64,
                })
                .build()
                .expect("store");
            store
                .put(b"key", &value, Some(Duration::from_secs(3600)))
                .expect("put");
            let bytes = fs::read(store.path_for(b"key")).expect("read");
            (store, bytes)
        })
        .collect()
}

#[test]
fn every_truncation_of_an_entry_file_is_a_miss_and_removes_it() {
    let scratch = Scratch::unmade("disk", "truncation");
    for (store, bytes) in sample_files(&scratch) {
        for len in 0..bytes.len() {
            let error = assert_rejected(&store, b"key", &bytes[..len], &format!("{len} bytes"));
            assert_eq!(error.cause(), MissCause::Corrupt, "{len} bytes: {error}");
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"\n");
        assert_rejected(&store, b"key", &longer, "one byte appended");
        // And the intact file still reads.
        fs::write(store.path_for(b"key"), &bytes).expect("restore");
        assert!(store.get(b"key").expect("get").is_some());
    }
}

#[test]
fn every_bit_flip_of_an_entry_file_is_a_miss_and_removes_it() {
    let scratch = Scratch::unmade("disk", "bit-flips");
    for (store, bytes) in sample_files(&scratch) {
        let mut flipped = bytes.clone();
        for bit in 0..bytes.len() * 8 {
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_rejected(&store, b"key", &flipped, &format!("bit {bit} flipped"));
            flipped[bit / 8] ^= 1 << (bit % 8);
        }
        fs::write(store.path_for(b"key"), &bytes).expect("restore");
        assert!(store.get(b"key").expect("get").is_some());
    }
}

#[test]
fn garbage_under_an_entry_name_is_a_miss() {
    let scratch = Scratch::unmade("disk", "garbage");
    let store = store(&scratch);
    let mut noise = vec![0u8; 10_000];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for byte in &mut noise {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    for (what, bytes) in [
        ("empty", &b""[..]),
        ("json", b"{\"key\":\"k\",\"value\":[1,2,3]}"),
        ("noise", &noise),
        ("magic only", b"CRVE"),
    ] {
        let error = assert_rejected(&store, b"k", bytes, what);
        assert_eq!(error.cause(), MissCause::Corrupt, "{what}: {error}");
    }
}

#[test]
fn a_file_renamed_to_another_keys_name_is_a_wrong_key_miss() {
    let scratch = Scratch::unmade("disk", "wrong-key");
    let store = store(&scratch);
    store.put(b"alice", b"alice's secret", None).expect("put");
    store.put(b"bob", b"bob's value", None).expect("put");
    fs::rename(store.path_for(b"alice"), store.path_for(b"bob")).expect("rename");
    assert_eq!(
        store.lookup(b"bob").expect("lookup"),
        DiskLookup::Rejected(EnvelopeError::WrongKey)
    );
    assert!(!store.path_for(b"bob").exists());
    assert_eq!(store.get(b"alice").expect("get"), None, "moved away");

    // Cleanup finds misnamed files too.
    store.put(b"carol", b"v", None).expect("put");
    fs::copy(store.path_for(b"carol"), store.path_for(b"dave")).expect("copy");
    let report = store.cleanup().expect("cleanup");
    assert_eq!((report.corrupt, report.kept), (1, 1), "{report:?}");
}

#[test]
fn a_schema_change_makes_old_entries_misses() {
    let scratch = Scratch::unmade("disk", "schema");
    let v1 = DiskStore::builder(scratch.path())
        .schema(Schema::new(1).with_fingerprint("aaaa"))
        .build()
        .expect("store");
    let changes = [
        ("version", Schema::new(2).with_fingerprint("aaaa")),
        ("fingerprint", Schema::new(1).with_fingerprint("bbbb")),
        ("no fingerprint", Schema::new(1)),
        (
            "value format",
            Schema::new(1)
                .with_fingerprint("aaaa")
                .with_format(ValueFormat::Binary),
        ),
    ];
    for (what, schema) in changes {
        v1.put(b"k", b"v", None).expect("put");
        let v2 = DiskStore::builder(scratch.path())
            .schema(schema)
            .build()
            .expect("store");
        let lookup = v2.lookup(b"k").expect("lookup");
        let cause = lookup.rejection().map(EnvelopeError::cause);
        assert_eq!(cause, Some(MissCause::Stale), "{what}: {lookup:?}");
        assert!(!v2.path_for(b"k").exists(), "{what}: stale file removed");
        v2.put(b"k", b"new", None).expect("put");
        assert_eq!(v2.get(b"k").expect("get"), Some(b"new".to_vec()));
        assert_eq!(v1.get(b"k").expect("get"), None, "{what}: and back");
    }
}

#[test]
fn cleanup_removes_expired_corrupt_stale_and_orphaned_files_and_counts_them() {
    let scratch = Scratch::unmade("disk", "cleanup");
    let (now, clock) = manual_clock(1_700_000_000_000);
    let store = DiskStore::builder(scratch.path())
        .schema(schema())
        .clock(clock)
        .temp_grace(Duration::from_secs(600))
        .build()
        .expect("store");
    for i in 0..5u8 {
        store.put(&[b'l', i], b"live", None).expect("put");
    }
    for i in 0..3u8 {
        store
            .put(&[b'e', i], b"expiring", Some(Duration::from_secs(1)))
            .expect("put");
    }
    for i in 0..2u8 {
        store.put(&[b'c', i], b"corrupt", None).expect("put");
        let path = store.path_for(&[b'c', i]);
        let bytes = fs::read(&path).expect("read");
        fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    }
    DiskStore::builder(scratch.path())
        .schema(Schema::new(6))
        .build()
        .expect("old store")
        .put(b"old", b"v", None)
        .expect("put");
    // A temporary file left by a killed writer, and a foreign file.
    let temp = scratch.join(".tmp-0123.entry-99999-0");
    fs::write(&temp, b"half a write").expect("temp");
    fs::write(scratch.join("notes.txt"), b"not ours").expect("foreign");

    now.fetch_add(2_000, Ordering::Relaxed);
    let report = store.cleanup().expect("cleanup");
    assert_eq!(
        (
            report.expired,
            report.corrupt,
            report.stale,
            report.orphaned_temp,
            report.kept
        ),
        (3, 2, 1, 0, 5),
        "{report:?}: the temp file's mtime is in the clock's future"
    );
    assert_eq!(report.removed(), 6);
    assert!(temp.exists());

    // Ten minutes after the file's real modification time, it is orphaned.
    let modified = fs::metadata(&temp)
        .and_then(|m| m.modified())
        .expect("mtime");
    let modified_ms = modified
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after epoch")
        .as_millis() as u64;
    now.store(modified_ms + 600_000, Ordering::Relaxed);
    let report = store.cleanup().expect("cleanup");
    assert_eq!(
        (report.orphaned_temp, report.kept, report.removed()),
        (1, 5, 1)
    );
    assert!(!temp.exists());
    assert!(scratch.join("notes.txt").exists(), "foreign files stay");
    assert_eq!(store.cleanup().expect("again").removed(), 0);
}

#[test]
fn clear_removes_every_entry() {
    let scratch = Scratch::unmade("disk", "clear");
    let store = store(&scratch);
    for i in 0..20u32 {
        store.put(&i.to_le_bytes(), b"v", None).expect("put");
    }
    fs::write(scratch.join("notes.txt"), b"not ours").expect("foreign");
    assert_eq!(store.clear().expect("clear"), 20);
    assert!(store.is_empty().expect("empty"));
    assert_eq!(file_names(scratch.path()), ["notes.txt"]);
}

/// Keys for pattern clears: plain, with class characters, non-ASCII, and
/// one that is not UTF-8.
const KEYS: &[&[u8]] = &[
    b"user:1",
    b"user:2",
    b"user:10",
    b"user:a",
    b"user:",
    b"admin:1",
    b"usr:1",
    b"user:[x]",
    "ünï:1".as_bytes(),
    b"bin:\xff",
];

#[test]
fn clear_matching_agrees_with_the_glob_on_every_key() {
    let patterns = [
        "user:*",
        "user:?",
        "user:[12]",
        "user:[!12]*",
        "user:[0-9]*",
        "*:1",
        "[au]*",
        "user:\\[x\\]",
        "?nï:*",
        "bin:?",
        "*",
        "nothing",
    ];
    let scratch = Scratch::unmade("disk", "clear-matching");
    let store = store(&scratch);
    for pattern in patterns {
        let glob = Glob::key(pattern);
        for key in KEYS {
            store.put(key, key, None).expect("put");
        }
        let expected: Vec<&[u8]> = KEYS
            .iter()
            .copied()
            .filter(|key| glob.matches(&String::from_utf8_lossy(key)))
            .collect();
        let removed = store.clear_matching(&glob).expect("clear_matching");
        assert_eq!(removed, expected.len() as u64, "{pattern}");
        for key in KEYS {
            let present = store.get(key).expect("get").is_some();
            assert_eq!(
                present,
                !expected.contains(key),
                "{pattern} {:?}",
                String::from_utf8_lossy(key)
            );
        }
    }
    // Spot checks that the glob reads as Redis' SCAN MATCH does.
    let removed_by = |pattern: &str| {
        for key in KEYS {
            store.put(key, key, None).expect("put");
        }
        store.clear_matching(&Glob::key(pattern)).expect("clear")
    };
    assert_eq!(removed_by("user:*"), 6);
    assert_eq!(removed_by("user:?"), 3);
    assert_eq!(removed_by("user:[12]"), 2);
    assert_eq!(removed_by("*"), KEYS.len() as u64);
}

#[test]
fn entries_page_through_live_entries_only() {
    let scratch = Scratch::unmade("disk", "entries");
    let (now, clock) = manual_clock(1_000_000);
    let store = DiskStore::builder(scratch.path())
        .schema(schema())
        .clock(clock)
        .build()
        .expect("store");
    for i in 0..12u32 {
        let ttl = (i % 3 == 0).then_some(Duration::from_secs(1));
        store
            .put(format!("k{i}").as_bytes(), &vec![b'x'; i as usize], ttl)
            .expect("put");
    }
    now.fetch_add(1_000, Ordering::Relaxed);
    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.entries(cursor.as_ref(), 5).expect("page");
        for entry in &page.entries {
            let key = String::from_utf8(entry.key.clone()).expect("utf-8");
            assert_eq!(Ok(entry.value_len), key[1..].parse(), "{key}");
            assert_eq!(entry.stored_len, entry.value_len);
            assert_eq!(entry.expires_at_ms, None);
            keys.push(key);
        }
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    keys.sort();
    let mut expected: Vec<String> = (0..12)
        .filter(|i| i % 3 != 0)
        .map(|i| format!("k{i}"))
        .collect();
    expected.sort();
    assert_eq!(keys, expected);
}

#[test]
fn write_behind_reads_its_own_writes_and_flushes() {
    let scratch = Scratch::unmade("disk", "write-behind");
    let disk = WriteBehind::new(store(&scratch), 8).expect("start");
    for i in 0..100u32 {
        disk.put(&i.to_le_bytes(), &i.to_be_bytes(), None)
            .expect("put");
        // Queued or written, the value is there at once.
        assert_eq!(
            disk.get(&i.to_le_bytes()).expect("get"),
            Some(i.to_be_bytes().to_vec())
        );
    }
    for i in (0..100u32).step_by(2) {
        disk.remove(&i.to_le_bytes()).expect("remove");
        assert_eq!(disk.get(&i.to_le_bytes()).expect("get"), None);
    }
    disk.flush().expect("flush");
    assert_eq!(disk.pending(), 0);
    let plain = store(&scratch);
    assert_eq!(plain.len().expect("len"), 50);
    for i in 0..100u32 {
        let expected = (i % 2 == 1).then(|| i.to_be_bytes().to_vec());
        assert_eq!(plain.get(&i.to_le_bytes()).expect("get"), expected, "{i}");
    }
    assert_eq!(disk.clear_matching(&Glob::key("*")).expect("clear"), 50);
    disk.shutdown().expect("shutdown");
}

#[test]
fn write_behind_drop_writes_everything_acknowledged() {
    let scratch = Scratch::unmade("disk", "write-behind-drop");
    let values: Vec<Vec<u8>> = (0..64u32)
        .map(|i| vec![i as u8; 1024 + i as usize])
        .collect();
    {
        let disk = Arc::new(WriteBehind::new(store(&scratch), 4).expect("start"));
        let writers: Vec<_> = (0..4u32)
            .map(|w| {
                let disk = Arc::clone(&disk);
                let values = values.clone();
                std::thread::spawn(move || {
                    for i in (w..64).step_by(4) {
                        disk.put(&i.to_le_bytes(), &values[i as usize], None)
                            .expect("put");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().expect("writer");
        }
        // Dropped with writes still queued: drop drains the queue.
        drop(disk);
    }
    let plain = store(&scratch);
    for (i, value) in values.iter().enumerate() {
        let key = (i as u32).to_le_bytes();
        assert_eq!(
            plain.get(&key).expect("get").as_ref(),
            Some(value),
            "entry {i}"
        );
    }
}

/// Set for the child process of the SIGKILL test: the folder it writes to.
const CHILD_ENV: &str = "CACHE_TESTS_DISK_SIGKILL_CHILD";
const CHILD_KEYS: u8 = 4;

/// A large value that names its key and generation and can be checked
/// byte for byte (its body depends on the key and the generation modulo 4).
fn payload(key: u8, generation: u64) -> Vec<u8> {
    let variant = (generation % 4) as u8;
    let len = 256 * 1024 + usize::from(variant) * 128 * 1024;
    let pattern: Vec<u8> = (0..251u8)
        .map(|i| i.wrapping_mul(31) ^ variant.wrapping_mul(7) ^ key)
        .collect();
    let mut value = Vec::with_capacity(len + pattern.len());
    value.push(key);
    value.extend_from_slice(&generation.to_le_bytes());
    while value.len() < len {
        value.extend_from_slice(&pattern);
    }
    value.truncate(len);
    value
}

fn check_payload(key: u8, value: &[u8]) {
    assert!(value.len() > 9, "key {key}: short value");
    assert_eq!(value[0], key, "value of another key");
    let mut generation = [0; 8];
    generation.copy_from_slice(&value[1..9]);
    assert!(
        value == payload(key, u64::from_le_bytes(generation)),
        "key {key}: value differs from its generation's"
    );
}

/// The file a child creates once it is about to loop writing.
fn ready_marker(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("ready-{pid}"))
}

/// Not a test on its own: the child process of
/// `sigkill_while_writing_leaves_no_torn_entry`, which runs this binary
/// with [`CHILD_ENV`] set. Without it, it returns at once.
#[test]
fn sigkill_child_writer() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let store = DiskStore::open(&dir).expect("store");
    fs::write(ready_marker(&dir, std::process::id()), b"").expect("ready marker");
    for generation in 0u64.. {
        for key in 0..CHILD_KEYS {
            store
                .put(&[key], &payload(key, generation), None)
                .expect("put");
        }
    }
}

#[cfg(unix)]
#[test]
fn sigkill_while_writing_leaves_no_torn_entry() {
    use std::process::{Command, Stdio};

    let scratch = Scratch::unmade("disk", "sigkill");
    fs::create_dir_all(scratch.path()).expect("folder");
    let exe = std::env::current_exe().expect("test binary");
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let store = DiskStore::open(scratch.path()).expect("store");
    for round in 0..10 {
        let mut child = Command::new(&exe)
            .args(["sigkill_child_writer", "--exact", "--test-threads=1"])
            .env(CHILD_ENV, scratch.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the writer");
        // Once it is writing, let it write for a few entries (each takes
        // milliseconds: most of it in fsync), then kill it wherever it is.
        let ready = ready_marker(scratch.path(), child.id());
        while !ready.exists() {
            if let Some(status) = child.try_wait().expect("poll child") {
                panic!("the writer exited on its own: {status}");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(random() % 40));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        fs::remove_file(&ready).expect("remove marker");

        // Every file is a whole entry or a temporary file.
        for name in file_names(scratch.path()) {
            if name.starts_with(".tmp-") {
                continue;
            }
            let key = (0..CHILD_KEYS)
                .find(|k| store.path_for(&[*k]).ends_with(&name))
                .unwrap_or_else(|| panic!("round {round}: unexpected file {name}"));
            match store.lookup(&[key]).expect("lookup") {
                DiskLookup::Hit(decoded) => check_payload(key, &decoded.value),
                other => panic!("round {round}: torn entry for key {key}: {other:?}"),
            }
        }
    }
    let names = file_names(scratch.path());
    let temps = names.iter().filter(|n| n.starts_with(".tmp-")).count() as u64;
    let entries = names.len() as u64 - temps;
    let sweeper = DiskStore::builder(scratch.path())
        .temp_grace(Duration::ZERO)
        .build()
        .expect("store");
    let report = sweeper.cleanup().expect("cleanup");
    assert_eq!((report.corrupt, report.stale, report.expired), (0, 0, 0));
    assert_eq!(
        (report.kept, report.orphaned_temp),
        (entries, temps),
        "{report:?}"
    );
    assert!(
        file_names(scratch.path())
            .iter()
            .all(|n| !n.starts_with(".tmp-"))
    );
}

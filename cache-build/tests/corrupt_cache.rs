//! Fuzz-style: whatever bytes sit at the registry cache's path (bit flips,
//! truncations, duplicated or moved sections of a real cache file, random
//! garbage), the builder never panics or fails, and never trusts them: it
//! scans every file again and reports what a fresh scan reports. The
//! manifest reader gets the same treatment.

mod common;

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};

use cache_build::{CacheDiscarded, Report};
use cache_spec::manifest::BuildManifest;
use common::{FakePackage, NO_CARGO, SOURCES};

/// xorshift64: deterministic, so a failure names a reproducible case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// In `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("fits")
    }
}

/// Where `needle` starts in `haystack`.
fn find(haystack: &[u8], needle: &str) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
}

/// Whole JSON members of a real cache written twice: still valid JSON,
/// and for a map entry even the same value once parsed (the last
/// duplicate wins), yet not the bytes that were written.
fn duplicated_members(good: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let members = [
        (
            "the src/lib.rs record",
            "\"src/lib.rs\":",
            ",\"src/models.rs\":",
        ),
        ("the packages field", "\"packages\":", ",\"checksum\":"),
    ];
    for (what, from, to) in members {
        let (Some(start), Some(end)) = (find(good, from), find(good, to)) else {
            panic!(
                "{what}: no `{from}` .. `{to}` in the cache:\n{}",
                String::from_utf8_lossy(good)
            );
        };
        let mut bytes = good.to_vec();
        let member = [&good[start..end], b","].concat();
        bytes.splice(start..start, member);
        out.push((format!("{what} duplicated"), bytes));
    }
    out
}

/// Mutated copies of `good`, each with a description.
fn mutations(good: &[u8], rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for _ in 0..150 {
        let mut bytes = good.to_vec();
        let flips = 1 + rng.below(3);
        let mut at = Vec::new();
        for _ in 0..flips {
            let (byte, bit) = (rng.below(bytes.len()), rng.below(8));
            bytes[byte] ^= 1 << bit;
            at.push((byte, bit));
        }
        if bytes != good {
            out.push((format!("bit flips at (byte, bit) {at:?}"), bytes));
        }
    }
    for _ in 0..50 {
        let cut = rng.below(good.len());
        out.push((format!("truncated to {cut} bytes"), good[..cut].to_vec()));
    }
    for _ in 0..100 {
        let start = rng.below(good.len());
        let len = 1 + rng.below((good.len() - start).min(400));
        let section = &good[start..start + len];
        let mut bytes = good.to_vec();
        // Half right after itself (a doubled write), half anywhere.
        let at = if rng.below(2) == 0 {
            start + len
        } else {
            rng.below(good.len() + 1)
        };
        bytes.splice(at..at, section.iter().copied());
        out.push((
            format!("bytes {start}..{} duplicated at {at}", start + len),
            bytes,
        ));
    }
    for _ in 0..50 {
        let start = rng.below(good.len());
        let len = 1 + rng.below((good.len() - start).min(400));
        let mut bytes = good.to_vec();
        bytes.drain(start..start + len);
        out.push((format!("bytes {start}..{} removed", start + len), bytes));
    }
    for _ in 0..25 {
        let len = rng.below(2 * good.len());
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        out.push((format!("{len} random bytes"), bytes));
    }
    // Random bytes spliced into the middle of a valid file.
    for _ in 0..25 {
        let at = rng.below(good.len());
        let len = 1 + rng.below(16);
        let mut bytes = good.to_vec();
        bytes.splice(at..at, (0..len).map(|_| rng.next() as u8));
        out.push((format!("{len} random bytes inserted at {at}"), bytes));
    }
    out
}

#[test]
fn mutated_cache_files_never_panic_and_always_mean_a_full_scan() {
    let package = FakePackage::new("fuzz-cache");
    // No `cargo metadata` child process per run: hundreds of runs stay fast.
    let builder = || package.builder().env("CARGO", NO_CARGO).dependencies(false);
    let run = || -> Report {
        let mut sink = Vec::new();
        builder()
            .emit_to(&mut sink)
            .unwrap_or_else(|e| panic!("cache-build failed: {e}"))
    };
    let truth = run();
    assert_eq!(truth.discarded, Some(CacheDiscarded::Missing));
    let good = fs::read(package.cache_path()).expect("cache written");
    assert_eq!(run().stats.read, 0, "the pristine cache is used");

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut cases = duplicated_members(&good);
    cases.extend(mutations(&good, &mut rng));
    let mut failures = Vec::new();
    for (what, bytes) in &cases {
        if bytes == &good {
            continue;
        }
        fs::write(package.cache_path(), bytes).expect("write the mutated cache");
        let report = match catch_unwind(AssertUnwindSafe(run)) {
            Ok(report) => report,
            Err(_) => {
                failures.push(format!("{what}: panicked"));
                continue;
            }
        };
        let full = report.discarded.is_some()
            && report.stats.read == SOURCES.len()
            && report.stats.parsed == SOURCES.len();
        if !full {
            failures.push(format!(
                "{what}: not a full scan ({:?}, {:?})",
                report.discarded, report.stats
            ));
        }
        if report.fingerprint != truth.fingerprint || report.manifest != truth.manifest {
            failures.push(format!(
                "{what}: a different fingerprint or manifest than a fresh scan"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} mutated caches mishandled:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // After all that, the cache on disk is sound again.
    let last = run();
    assert_eq!((last.discarded, last.stats.read), (None, 0));
}

#[test]
fn mutated_manifests_never_panic_the_reader() {
    let package = FakePackage::new("fuzz-manifest");
    let report = package
        .run_with(package.builder().env("CARGO", NO_CARGO).dependencies(false))
        .0;
    let good = fs::read(package.manifest_path()).expect("manifest written");
    assert_eq!(
        BuildManifest::from_json(&String::from_utf8_lossy(&good)),
        Ok(report.manifest.clone())
    );

    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for (what, bytes) in mutations(&good, &mut rng) {
        let text = String::from_utf8_lossy(&bytes);
        match catch_unwind(|| BuildManifest::from_json(&text)) {
            // Some mutations only touch a string's contents or whitespace.
            Ok(Ok(_) | Err(_)) => {}
            Err(_) => panic!("{what}: the manifest reader panicked"),
        }
    }
}

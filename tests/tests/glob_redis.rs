//! `Glob::key` against Redis' own matcher: random patterns and keys (multi-
//! byte UTF-8, escapes, ranges, negations, unclosed classes, trailing
//! backslashes, runs of stars) stored in a real `redis-server` and listed
//! with `SCAN MATCH`; every pattern must select exactly the keys the glob
//! selects. Keys and patterns carry a prefix, as the Redis tier's do.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use cache_runtime::disk::Glob;
use support::redis::RedisServer;

/// The tier's layout: `{prefix}:{region}:` before every key text.
const PREFIX: &str = "glob:diff-region:";

/// A small deterministic generator (xorshift64*), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// What keys are made of: ASCII the patterns name, glob metacharacters as
/// data, and characters of two, three and four bytes.
const KEY_PIECES: &[&str] = &[
    "a", "b", "z", "A", "0", "9", "-", "^", "!", "]", "[", "*", "?", "\\", ":", "é", "ü", "€", "😀",
];

/// What patterns are made of: the key pieces plus wildcards, classes
/// (closed, open, negated, ranges, escapes) and escapes.
const PATTERN_PIECES: &[&str] = &[
    "a", "b", "z", "0", "-", "^", "!", "é", "€", "😀", ":", "*", "*", "?", "?", "[", "]", "\\",
    "\\*", "\\?", "\\[", "\\]", "\\\\", "[a-z]", "[z-a]", "[^a]", "[!a]", "[]", "[^]", "[a-",
    "[\\]]", "[é]", "[a-é]", "[^é]", "[0-9", "[-a]", "[a-]", "[\\", "[^", "**",
];

fn random_text(rng: &mut Rng, pieces: &[&str], most: usize) -> String {
    (0..rng.below(most + 1)).map(|_| rng.pick(pieces)).collect()
}

/// Every key Redis holds under [`PREFIX`] that `SCAN MATCH` lets through.
fn scan(connection: &mut redis::Connection, pattern: &str) -> BTreeSet<Vec<u8>> {
    let mut cursor = 0u64;
    let mut found = BTreeSet::new();
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{}{pattern}", Glob::escape(PREFIX)))
            .arg("COUNT")
            .arg(10_000)
            .query(connection)
            .unwrap();
        found.extend(keys);
        if next == 0 {
            return found;
        }
        cursor = next;
    }
}

#[test]
fn glob_selects_exactly_what_redis_scan_match_selects() {
    let server = RedisServer::start();
    let client = redis::Client::open(server.url()).unwrap();
    let mut connection = client.get_connection().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    let mut keys: BTreeSet<String> = (0..400)
        .map(|_| random_text(&mut rng, KEY_PIECES, 6))
        .collect();
    keys.insert(String::new());
    keys.insert("a".repeat(1100));
    let mut pipe = redis::pipe();
    for key in &keys {
        pipe.cmd("SET")
            .arg(format!("{PREFIX}{key}"))
            .arg(1)
            .ignore();
    }
    pipe.query::<()>(&mut connection).unwrap();

    let mut patterns: Vec<String> = (0..300)
        .map(|_| random_text(&mut rng, PATTERN_PIECES, 6))
        .collect();
    // Redis' nesting limit: 1,000 stars before the last byte match, 1,001 do not.
    patterns.push("*a".repeat(1000));
    patterns.push("*a".repeat(1001));
    patterns.push(format!("{}*", "*a".repeat(1001)));

    let mut pairs = 0usize;
    let mut differences = Vec::new();
    for pattern in &patterns {
        let glob = Glob::key(pattern);
        let by_redis = scan(&mut connection, pattern);
        for key in &keys {
            pairs += 1;
            let redis_says = by_redis.contains(format!("{PREFIX}{key}").as_bytes());
            if glob.matches(key) != redis_says {
                differences.push(format!(
                    "pattern {pattern:?} key {key:?}: Redis {redis_says}, Glob {}",
                    !redis_says
                ));
            }
        }
    }
    assert!(pairs >= 10_000, "only {pairs} pairs compared");
    assert!(
        differences.is_empty(),
        "{} of {pairs} pattern/key pairs differ, e.g.:\n{}",
        differences.len(),
        differences[..differences.len().min(20)].join("\n")
    );
    println!("{pairs} pattern/key pairs agree with redis-server");
}

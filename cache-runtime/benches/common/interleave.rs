//! Interleaved rounds, shared by the benches that print paired ratios
//! (`manager`, `redis`): divan measures each bench in one stretch after the
//! other, which on a shared machine moves a result by more than the few
//! percent under test. Here every round runs a block of each variant, in
//! a rotating order, so drift hits every variant alike, and each round
//! gives a paired ratio. One line per variant, after divan's table:
//! `interleaved <group>/<variant> median_ns <m> min_ns <f> paired_<base> <r>`
//! where `r` is the median over rounds of the variant's time over the
//! group's first variant's in the same round.

use std::time::Duration;

/// One block of a variant: `n` operations from position `start`, timed.
pub(crate) type Block<'a> = Box<dyn FnMut(usize, usize) -> Duration + 'a>;

/// `CACHE_BENCH_ROUNDS` (default 40; 0 skips the rounds).
pub(crate) fn rounds() -> usize {
    std::env::var("CACHE_BENCH_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(40)
}

/// Runs `rounds` rounds of blocks of `n` operations of every variant and
/// prints their lines. Each variant starts its blocks `spread / variants`
/// positions apart, so two variants over one cache do not find the
/// previous one's lines still in the CPU caches.
pub(crate) fn run(
    group: &str,
    variants: &mut [(&str, Block<'_>)],
    n: usize,
    rounds: usize,
    spread: usize,
) {
    let count = variants.len();
    let mut times = vec![Vec::with_capacity(rounds); count];
    for round in 0..rounds {
        for turn in 0..count {
            let i = (turn + round) % count;
            let spent = variants[i].1(n, round * n + i * (spread / count));
            times[i].push(spent.as_secs_f64() * 1e9 / n as f64);
        }
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let base = variants[0].0;
    for (i, (name, _)) in variants.iter().enumerate() {
        let mut paired: Vec<f64> = times[i].iter().zip(&times[0]).map(|(a, b)| a / b).collect();
        let min = times[i].iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "interleaved {group}/{name} median_ns {:.1} min_ns {:.1} paired_{base} {:.4}",
            median(&mut times[i].clone()),
            min,
            median(&mut paired)
        );
    }
}

/// A timed block of `n` calls of `op`, each given a key cursor that starts
/// at `start` (wrapped to `keys`, a power of two).
#[allow(dead_code)] // the Redis bench times its own blocks
pub(crate) fn timed<O>(
    n: usize,
    start: usize,
    keys: usize,
    op: impl Fn(&std::cell::Cell<usize>) -> O,
) -> Duration {
    let at = std::cell::Cell::new(start & (keys - 1));
    let started = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(op(&at));
    }
    started.elapsed()
}

/// [`timed`] on two threads at once, each doing `n` lookups from its own
/// stretch of keys: the time until both are done, so "per operation" is
/// per operation of one of two busy threads.
#[allow(dead_code)] // the Redis bench times its own blocks
pub(crate) fn timed_2_threads<O>(
    n: usize,
    start: usize,
    keys: usize,
    op: impl Fn(&std::cell::Cell<usize>) -> O + Sync,
) -> Duration {
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        let other = scope.spawn(|| timed(n, start + keys / 2, keys, &op));
        timed(n, start, keys, &op);
        let _ = other.join();
    });
    started.elapsed()
}

//! The memory tier: a region's moka cache, whose settings can change while
//! the region runs.
//!
//! - `mod.rs`: these notes; re-exports what the rest of the manager uses;
//! - `live.rs`: [`Live`]: the timing settings (memory TTL, TTI, fail-safe
//!   grace) and the hot-path flags, as relaxed atomics every part reads at
//!   use; [`LiveDuration`], [`clamp`], [`Freshness`];
//! - `entry.rs`: [`Entry`], what the tier stores per key;
//! - `expiry.rs`: [`EntryExpiry`]: moka's per-entry expiry over [`Live`],
//!   TTI included (moka's own `time_to_idle` is fixed when the cache is
//!   built);
//! - `listener.rs`: [`Listener`]: the eviction listener feeding statistics
//!   and events; [`ListenerBase`], what a region's listeners share;
//!   `quietly`, for a migration's changes no listener counts;
//! - `shape.rs`: [`Shape`], what a cache is built with, and `build`;
//! - `level.rs`: [`MemoryLevel`]: the cache behind an [`ArcSwap`], rebuilt
//!   and migrated when the limits or the eviction policy change, re-timed
//!   in place when only the timing does; its reads, writes, removals and
//!   counts;
//! - `writers.rs`: the writers of the level's first cache, counted per
//!   thread so that the first rebuild can wait for them;
//! - `rank.rs`: a cache's entries ranked hottest first;
//! - `rebuild.rs`: [`MemoryLevel::rebuild`], the migration;
//! - `retime.rs`: [`MemoryLevel::retime`], the re-timing sweep;
//! - `sketch.rs`: [`Sketch`], how often each key is read, roughly.
//!
//! # Timing changes
//!
//! An entry stored without its own TTL follows the region's *current*
//! memory TTL: the expiry computes its deadline from when it was stored and
//! the setting of the moment (an entry's own TTL — `insert_with_ttl`, a
//! policy's `expire_after`, the time left on a promoted disk or Redis
//! value — stays its own). moka only asks the expiry on a create, an update
//! or a read, so a change re-times the entries already held with a sweep of
//! reads, coldest first so that an LRU order keeps its hottest entries
//! last; each read gives the entry its deadline under the new settings. An
//! entry already past it gets no time left: reads miss it at once, and moka
//! removes it, counted as expired (or idle) by the listener, on its timer
//! wheel's next tick (about a second), as any entry that expires. Reads,
//! not writes: a re-timing write could overwrite a value written meanwhile
//! (moka's compute operations do not exclude plain inserts), a read
//! changes nothing but the deadline. Until the sweep ends, the hit path
//! checks each hit's age against the new settings (the `CHECKING` flag),
//! so no read returns an entry past its new deadline.
//!
//! Idleness is moka's last read, which the expiry cannot see: a sweep
//! estimates it from the entry's old deadline (the latest it can have been
//! read given the old TTI), which may expire an entry whose age limit was
//! the binding one a little early; a TTI set where there was none counts
//! idleness from the change; a migrated entry's idleness restarts; the
//! `CHECKING` hit check looks at age only.
//!
//! # Rebuilds
//!
//! moka cannot resize a cache or change its policy: a new cache is built and
//! published at once, with the old one kept as a read-through *previous*
//! (a hit there is promoted), writes go to the new one under per-key locks
//! while it exists, removals and clears apply to both, and the old entries
//! are copied hottest first (by a sampled [`Sketch`], ties by recency) up to
//! the new limit; the rest are counted as size evictions. See
//! [`MemoryLevel::rebuild`].
//!
//! # Expiry or none
//!
//! moka's per-entry expiry costs every hit about 150 instructions (it
//! converts instants and computes the time left on each read), so a cache
//! is built with [`EntryExpiry`] only when an entry can expire: the
//! settings have a memory TTL or a TTI, or an entry with a TTL of its own
//! was stored (`insert_with_ttl`, a policy's `expire_after`, a promoted
//! disk or Redis value with time left). A change that needs it (a TTL set
//! at run time, the first entry with its own TTL) rebuilds the cache with
//! it, entries kept; once an entry had its own TTL the level keeps the
//! expiry for good; a TTL removed again (and no own TTL ever) rebuilds
//! without.
//!
//! # Cost
//!
//! A hit pays one relaxed load of [`Live`]'s flags (disabled, fail-safe,
//! re-timing), one of `swapped` (the level still uses the cache it opened
//! with, read directly) and, inside moka's read callback when the cache
//! has an expiry, one of the read mode. Once a rebuild has replaced that cache, a hit also pays an
//! [`ArcSwap::load`] of the published one (a thread-local debt slot, ~5 ns
//! and ~60 instructions here, no shared write, no lock). A timed hit
//! (about 1,000 a second by default) also hashes its key into the sketch
//! (four relaxed adds). A write
//! to the first cache counts itself in and out on its thread's own counter
//! (so the first rebuild can wait for it); per-key locks only while a
//! rebuild runs.
//!
//! [`EntryExpiry`]: expiry::EntryExpiry
//! [`Listener`]: listener::Listener
//! [`Sketch`]: sketch::Sketch
//! [`ArcSwap`]: arc_swap::ArcSwap
//! [`ArcSwap::load`]: arc_swap::ArcSwap::load

mod entry;
mod expiry;
mod level;
mod listener;
mod live;
mod rank;
mod rebuild;
mod retime;
mod shape;
mod sketch;
mod writers;

pub(crate) use self::entry::Entry;
pub(crate) use self::level::MemoryLevel;
pub(crate) use self::listener::ListenerBase;
pub(crate) use self::live::{CHECKING, DISABLED, FAIL_SAFE, Freshness, Live, LiveDuration, clamp};

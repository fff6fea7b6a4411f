//! What a region can be configured with: tiers, eviction, compression,
//! presets, the explicit options of one layer, and the resolved settings.

use std::time::Duration;

use crate::keyword::keyword_enum;

keyword_enum! {
    /// Where a region's entries live.
    pub enum Tier {
        /// In process memory (moka).
        Memory => "memory",
        /// One file per entry on local disk.
        Disk => "disk",
        /// A Redis server or cluster, shared by every instance.
        Redis => "redis",
        /// Memory in front of a second level: the region's named backend
        /// when it has one, else Redis or disk.
        Hybrid => "hybrid",
        /// The storage backend the region names (`backend = ".."`),
        /// registered on the manager's builder, with no memory level.
        Backend => "backend",
    }
}

impl Tier {
    /// Whether entries leave process memory (and so may outlive the process
    /// or be read by another one).
    pub const fn persists(self) -> bool {
        !matches!(self, Tier::Memory)
    }

    /// Whether the tier keeps entries in a memory level, the level that
    /// enforces `max_entries` / `max_bytes` (memory and hybrid).
    pub const fn has_memory_level(self) -> bool {
        matches!(self, Tier::Memory | Tier::Hybrid)
    }
}

keyword_enum! {
    /// How a memory tier chooses what to evict when it is full.
    pub enum Eviction {
        /// Admission by frequency sketch, eviction by LRU: the best hit rate
        /// for most workloads (moka's default).
        TinyLfu => "tinylfu",
        /// Plain least-recently-used.
        Lru => "lru",
    }
}

keyword_enum! {
    /// The compression codec for values written to disk or Redis.
    pub enum Codec {
        /// Stored as encoded.
        None => "none",
        /// Fast, moderate ratio.
        Lz4 => "lz4",
        /// Slower, better ratio.
        Zstd => "zstd",
    }
}

keyword_enum! {
    /// A named bundle of defaults for a common kind of region; explicit
    /// options override it. See [`Preset::options`] for the values.
    pub enum Preset {
        /// Short TTL, sensitive (never browsable, logged or persisted),
        /// memory only.
        SecurityCritical => "security-critical",
        /// Memory, many entries, short TTL.
        HighFrequency => "high-frequency",
        /// Hybrid, compressed, long TTL, limited by bytes.
        Bulk => "bulk",
        /// Few entries, short TTL.
        Temporary => "temporary",
    }
}

/// Compression of persisted values: a codec, used for values whose encoded
/// form is at least `threshold` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Compression {
    /// The codec.
    pub codec: Codec,
    /// Values smaller than this many bytes are stored uncompressed.
    pub threshold: u64,
}

impl Compression {
    /// No compression.
    pub const NONE: Compression = Compression {
        codec: Codec::None,
        threshold: 0,
    };
    /// The threshold used when only a codec is given: 1 KiB.
    pub const DEFAULT_THRESHOLD: u64 = 1024;

    /// `codec` above the default threshold.
    pub const fn new(codec: Codec) -> Compression {
        Compression {
            codec,
            threshold: Compression::DEFAULT_THRESHOLD,
        }
    }
}

/// The options one layer sets for a region (an attribute, a config provider,
/// the config file, the environment, a run-time change): `None` leaves the
/// lower layer's value in place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegionOptions {
    /// Time to live after insert.
    pub ttl: Option<Duration>,
    /// Time to idle: expiry after this long without a read.
    pub tti: Option<Duration>,
    /// Time to live in the memory level of a `hybrid` tier (`ttl` stays the
    /// time to live in the second level); only valid with `tier = "hybrid"`.
    /// The memory level keeps entries for `min(memory_ttl, ttl)`, so a
    /// `memory_ttl` longer than `ttl` is allowed and capped.
    pub memory_ttl: Option<Duration>,
    /// Entry-count limit (exclusive with `max_bytes`).
    pub max_entries: Option<u64>,
    /// Byte limit, through a weigher (exclusive with `max_entries`).
    pub max_bytes: Option<u64>,
    /// Eviction policy of the memory tier.
    pub eviction: Option<Eviction>,
    /// Storage tier.
    pub tier: Option<Tier>,
    /// Sensitive entries are never browsable, logged or persisted.
    pub sensitive: Option<bool>,
    /// Compression of persisted values.
    pub compression: Option<Compression>,
    /// Schema version of persisted values; bump it when the value type's
    /// encoding changes so old entries read as misses.
    pub version: Option<u32>,
    /// Whether the region caches at all: a disabled region passes reads
    /// through to the loader and stores nothing.
    pub enabled: Option<bool>,
    /// Fail-safe grace: how long an expired memory entry is kept, to be
    /// served when Redis or the loader fails. [`Duration::ZERO`] turns
    /// fail-safe off.
    pub fail_safe: Option<Duration>,
    /// The storage backend, by the name it was registered under:
    /// `Some(None)` is an explicit "none" (the region's tier, not the
    /// backend it declared).
    pub backend: Option<Option<&'static str>>,
}

/// Why one layer may not set both `max_entries` and `max_bytes`, in the
/// words every layer reports it with.
pub const TWO_LIMITS: &str =
    "set `max_entries` or `max_bytes`, not both: a region is limited either by count or by weight";

/// One of [`RegionOptions`]' fields, named as in attributes and config files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// `ttl`
    Ttl,
    /// `tti`
    Tti,
    /// `memory_ttl`
    MemoryTtl,
    /// `max_entries`
    MaxEntries,
    /// `max_bytes`
    MaxBytes,
    /// `eviction`
    Eviction,
    /// `tier`
    Tier,
    /// `sensitive`
    Sensitive,
    /// `compression`
    Compression,
    /// `version`
    Version,
    /// `enabled`
    Enabled,
    /// `fail_safe`
    FailSafe,
    /// `backend`
    Backend,
}

impl Field {
    /// The option's name as written in attributes and config files.
    pub const fn as_str(self) -> &'static str {
        match self {
            Field::Ttl => "ttl",
            Field::Tti => "tti",
            Field::MemoryTtl => "memory_ttl",
            Field::MaxEntries => "max_entries",
            Field::MaxBytes => "max_bytes",
            Field::Eviction => "eviction",
            Field::Tier => "tier",
            Field::Sensitive => "sensitive",
            Field::Compression => "compression",
            Field::Version => "version",
            Field::Enabled => "enabled",
            Field::FailSafe => "fail_safe",
            Field::Backend => "backend",
        }
    }

    /// Every field, in the order settings are shown.
    pub const ALL: &'static [Field] = &[
        Field::Enabled,
        Field::Tier,
        Field::Backend,
        Field::Ttl,
        Field::Tti,
        Field::MemoryTtl,
        Field::MaxEntries,
        Field::MaxBytes,
        Field::Eviction,
        Field::Compression,
        Field::FailSafe,
        Field::Sensitive,
        Field::Version,
    ];

    /// The field called `name` (as in [`Field::as_str`]).
    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL
            .iter()
            .copied()
            .find(|field| field.as_str() == name)
    }

    /// Whether a running region can take a new value of this field without
    /// a restart (`tier`, `backend`, `sensitive` and `version` decide where
    /// and how entries are stored, so they only change at start-up).
    pub const fn is_live(self) -> bool {
        !matches!(
            self,
            Field::Tier | Field::Backend | Field::Sensitive | Field::Version
        )
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

const fn pick<T: Copy>(upper: Option<T>, lower: Option<T>) -> Option<T> {
    match upper {
        Some(value) => Some(value),
        None => lower,
    }
}

impl RegionOptions {
    /// No option set.
    pub const EMPTY: RegionOptions = RegionOptions {
        ttl: None,
        tti: None,
        memory_ttl: None,
        max_entries: None,
        max_bytes: None,
        eviction: None,
        tier: None,
        sensitive: None,
        compression: None,
        version: None,
        enabled: None,
        fail_safe: None,
        backend: None,
    };

    /// These options with `upper`'s set fields laid over them. The size
    /// limit is one choice: when `upper` sets `max_entries` or `max_bytes`,
    /// both come from `upper`, so a byte limit replaces a lower entry limit.
    pub const fn overlay(&self, upper: &RegionOptions) -> RegionOptions {
        let upper_limits = upper.max_entries.is_some() || upper.max_bytes.is_some();
        RegionOptions {
            ttl: pick(upper.ttl, self.ttl),
            tti: pick(upper.tti, self.tti),
            memory_ttl: pick(upper.memory_ttl, self.memory_ttl),
            max_entries: if upper_limits {
                upper.max_entries
            } else {
                self.max_entries
            },
            max_bytes: if upper_limits {
                upper.max_bytes
            } else {
                self.max_bytes
            },
            eviction: pick(upper.eviction, self.eviction),
            tier: pick(upper.tier, self.tier),
            sensitive: pick(upper.sensitive, self.sensitive),
            compression: pick(upper.compression, self.compression),
            version: pick(upper.version, self.version),
            enabled: pick(upper.enabled, self.enabled),
            fail_safe: pick(upper.fail_safe, self.fail_safe),
            backend: pick(upper.backend, self.backend),
        }
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        *self == RegionOptions::EMPTY
    }

    /// Whether one layer sets both limits, which [`TWO_LIMITS`] forbids:
    /// the one home of that rule, for the attribute, the descriptor
    /// builder, configuration files, the environment and run-time changes.
    pub const fn sets_both_limits(&self) -> bool {
        self.max_entries.is_some() && self.max_bytes.is_some()
    }
}

impl Preset {
    /// The options this preset stands for:
    ///
    /// | preset | tier | ttl | limit | other |
    /// |---|---|---|---|---|
    /// | `security-critical` | memory | 5m | 10,000 entries | sensitive |
    /// | `high-frequency` | memory | 1m | 100,000 entries | |
    /// | `bulk` | hybrid | 24h | 256 MiB | zstd above 4 KiB |
    /// | `temporary` | memory | 5m | 1,000 entries | |
    pub const fn options(self) -> RegionOptions {
        const MINUTE: Duration = Duration::from_secs(60);
        let base = RegionOptions::EMPTY;
        match self {
            Preset::SecurityCritical => RegionOptions {
                ttl: Some(Duration::from_secs(5 * 60)),
                max_entries: Some(10_000),
                tier: Some(Tier::Memory),
                sensitive: Some(true),
                ..base
            },
            Preset::HighFrequency => RegionOptions {
                ttl: Some(MINUTE),
                max_entries: Some(100_000),
                tier: Some(Tier::Memory),
                eviction: Some(Eviction::TinyLfu),
                ..base
            },
            Preset::Bulk => RegionOptions {
                ttl: Some(Duration::from_secs(24 * 60 * 60)),
                max_bytes: Some(256 << 20),
                tier: Some(Tier::Hybrid),
                compression: Some(Compression {
                    codec: Codec::Zstd,
                    threshold: 4096,
                }),
                ..base
            },
            Preset::Temporary => RegionOptions {
                ttl: Some(Duration::from_secs(5 * 60)),
                max_entries: Some(1_000),
                tier: Some(Tier::Memory),
                ..base
            },
        }
    }
}

/// A region's effective configuration: defaults, then its preset, then its
/// explicit options (and, at run time, the configuration layers above them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionSettings {
    /// Time to live after insert; `None` is no expiry by age.
    pub ttl: Option<Duration>,
    /// Time to idle; `None` is no expiry by idleness.
    pub tti: Option<Duration>,
    /// Time to live in the memory level of a `hybrid` tier; `None` is the
    /// same as `ttl`. The effective memory time to live is
    /// [`RegionSettings::effective_memory_ttl`]: `min(memory_ttl, ttl)`.
    pub memory_ttl: Option<Duration>,
    /// Entry-count limit; `None` when limited by bytes (or unlimited).
    pub max_entries: Option<u64>,
    /// Byte limit; `None` when limited by count (or unlimited).
    pub max_bytes: Option<u64>,
    /// Eviction policy of the memory tier.
    pub eviction: Eviction,
    /// Storage tier.
    pub tier: Tier,
    /// Never browsable, logged or persisted.
    pub sensitive: bool,
    /// Compression of persisted values.
    pub compression: Compression,
    /// Schema version of persisted values.
    pub version: u32,
    /// Whether the region caches at all (a disabled region passes reads
    /// through to the loader and stores nothing).
    pub enabled: bool,
    /// Fail-safe grace: expired memory entries are kept this long, to be
    /// served when Redis or the loader fails; `None` is off.
    pub fail_safe: Option<Duration>,
    /// The storage backend holding the entries of a `backend` tier (or
    /// behind the memory level of a `hybrid` one), by registered name.
    pub backend: Option<&'static str>,
}

impl RegionSettings {
    /// The settings of a region that sets nothing: memory, TinyLFU, at most
    /// 10,000 entries, no expiry, not sensitive, uncompressed, version 1,
    /// enabled, no fail-safe.
    pub const DEFAULT: RegionSettings = RegionSettings {
        ttl: None,
        tti: None,
        memory_ttl: None,
        max_entries: Some(10_000),
        max_bytes: None,
        eviction: Eviction::TinyLfu,
        tier: Tier::Memory,
        sensitive: false,
        compression: Compression::NONE,
        version: 1,
        enabled: true,
        fail_safe: None,
        backend: None,
    };

    /// Defaults, then `preset`, then `explicit`. The default size limit is
    /// the memory level's: a disk or Redis region that sets none has none.
    pub const fn resolve(preset: Option<Preset>, explicit: &RegionOptions) -> RegionSettings {
        let preset_options = match preset {
            Some(preset) => preset.options(),
            None => RegionOptions::EMPTY,
        };
        let mut options = preset_options.overlay(explicit);
        // A declared backend is where entries go unless a tier (explicit or
        // the preset's) says otherwise (`hybrid` puts a memory level in
        // front of it).
        if let (Some(Some(_)), None) = (options.backend, options.tier) {
            options.tier = Some(Tier::Backend);
        }
        let settings = RegionSettings::DEFAULT.apply(&options);
        if options.max_entries.is_none() && options.max_bytes.is_none() {
            settings.without_default_limit()
        } else {
            settings
        }
    }

    /// These settings without the built-in size limit where the tier has
    /// no memory level to enforce it; for a resolution in which no layer
    /// set a limit.
    pub const fn without_default_limit(mut self) -> RegionSettings {
        if !self.tier.has_memory_level() {
            self.max_entries = None;
            self.max_bytes = None;
        }
        self
    }

    /// These settings with `options`' set fields laid over them (the size
    /// limit replaced as one choice, as in [`RegionOptions::overlay`]).
    pub const fn apply(&self, options: &RegionOptions) -> RegionSettings {
        let limits = options.max_entries.is_some() || options.max_bytes.is_some();
        RegionSettings {
            ttl: pick(options.ttl, self.ttl),
            tti: pick(options.tti, self.tti),
            memory_ttl: pick(options.memory_ttl, self.memory_ttl),
            max_entries: if limits {
                options.max_entries
            } else {
                self.max_entries
            },
            max_bytes: if limits {
                options.max_bytes
            } else {
                self.max_bytes
            },
            eviction: match options.eviction {
                Some(value) => value,
                None => self.eviction,
            },
            tier: match options.tier {
                Some(value) => value,
                None => self.tier,
            },
            sensitive: match options.sensitive {
                Some(value) => value,
                None => self.sensitive,
            },
            compression: match options.compression {
                Some(value) => value,
                None => self.compression,
            },
            version: match options.version {
                Some(value) => value,
                None => self.version,
            },
            enabled: match options.enabled {
                Some(value) => value,
                None => self.enabled,
            },
            fail_safe: match options.fail_safe {
                Some(grace) if grace.is_zero() => None,
                Some(grace) => Some(grace),
                None => self.fail_safe,
            },
            backend: match options.backend {
                Some(value) => value,
                None => self.backend,
            },
        }
    }

    /// Every contradiction in these settings; empty when they are coherent.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut found = Vec::new();
        if self.sensitive && self.tier.persists() {
            found.push(Conflict::SensitiveButPersisted { tier: self.tier });
        }
        if let (Some(tti), Some(ttl)) = (self.tti, self.ttl)
            && tti > ttl
        {
            found.push(Conflict::IdleLongerThanLive { tti, ttl });
        }
        if self.memory_ttl.is_some() && self.tier != Tier::Hybrid {
            found.push(Conflict::MemoryTtlWithoutHybrid { tier: self.tier });
        }
        match (self.tier, self.backend) {
            (Tier::Backend, None) => found.push(Conflict::BackendTierWithoutBackend),
            (Tier::Memory | Tier::Disk | Tier::Redis, Some(backend)) => {
                found.push(Conflict::BackendOnOtherTier {
                    tier: self.tier,
                    backend,
                });
            }
            _ => {}
        }
        if self.fail_safe.is_some() && !self.tier.has_memory_level() {
            found.push(Conflict::FailSafeWithoutMemory { tier: self.tier });
        }
        if !self.tier.has_memory_level() {
            if self.max_entries.is_some() {
                found.push(Conflict::LimitWithoutMemory {
                    tier: self.tier,
                    limit: Field::MaxEntries,
                });
            }
            if self.max_bytes.is_some() {
                found.push(Conflict::LimitWithoutMemory {
                    tier: self.tier,
                    limit: Field::MaxBytes,
                });
            }
        }
        found
    }

    /// How long an entry stays in the memory level of a `hybrid` tier:
    /// `min(memory_ttl, ttl)` when both are set, else whichever is set, else
    /// `None` (no expiry by age). A `memory_ttl` longer than `ttl` is not a
    /// conflict; it is capped at `ttl`, since the memory level never keeps
    /// an entry the second level has expired.
    pub const fn effective_memory_ttl(&self) -> Option<Duration> {
        match (self.memory_ttl, self.ttl) {
            (Some(memory), Some(ttl)) => {
                if memory.as_nanos() < ttl.as_nanos() {
                    Some(memory)
                } else {
                    Some(ttl)
                }
            }
            (Some(memory), None) => Some(memory),
            (None, ttl) => ttl,
        }
    }
}

impl Default for RegionSettings {
    fn default() -> Self {
        RegionSettings::DEFAULT
    }
}

/// Two settings that cannot hold together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// A sensitive region (or one with the `security-critical` preset) on a
    /// tier that writes entries outside process memory.
    #[error(
        "a sensitive region must stay in memory, but its tier is \"{tier}\"; use tier = \"memory\" or drop `sensitive`"
    )]
    SensitiveButPersisted {
        /// The persistent tier.
        tier: Tier,
    },
    /// A time to idle longer than the time to live, which could never apply.
    #[error("tti ({}) is longer than ttl ({}), so it would never apply; make tti shorter or drop it", crate::format_duration(*tti), crate::format_duration(*ttl))]
    IdleLongerThanLive {
        /// The time to idle.
        tti: Duration,
        /// The time to live.
        ttl: Duration,
    },
    /// A memory time to live on a tier without a memory level in front of a
    /// second one.
    #[error(
        "memory_ttl only applies to tier = \"hybrid\", but this region's tier is \"{tier}\"; use tier = \"hybrid\" or drop memory_ttl"
    )]
    MemoryTtlWithoutHybrid {
        /// The region's tier, not `hybrid`.
        tier: Tier,
    },
    /// A fail-safe grace on a tier without a memory level to keep expired
    /// entries in.
    #[error(
        "fail_safe keeps expired entries in memory, but this region's tier is \"{tier}\", which has no memory level; use tier = \"memory\" or \"hybrid\", or drop fail_safe"
    )]
    FailSafeWithoutMemory {
        /// The region's tier: `disk` or `redis`.
        tier: Tier,
    },
    /// A size limit on a tier without a memory level, which nothing would
    /// enforce.
    #[error(
        "{limit} is enforced by a memory level, but this region's tier is \"{tier}\", which has none: its entries are bounded by their TTL and the store's own limits (Redis maxmemory, the disk's size); use tier = \"hybrid\" to bound its memory level, or drop {limit}"
    )]
    LimitWithoutMemory {
        /// The region's tier: `disk` or `redis`.
        tier: Tier,
        /// `max_entries` or `max_bytes`.
        limit: Field,
    },
    /// `tier = "backend"` on a region that names no backend.
    #[error(
        "tier = \"backend\" keeps entries in the region's named backend, but it names none; name one with backend = \"<name registered with CacheManagerBuilder::backend>\" (#[custom_cache_region], or configuration), or use another tier"
    )]
    BackendTierWithoutBackend,
    /// A backend on a tier that would not use it.
    #[error(
        "backend = \"{backend}\" keeps entries in that backend, but tier = \"{tier}\" would not use it; use tier = \"backend\" (the backend alone) or \"hybrid\" (a memory level in front of it), or backend = \"none\" to keep tier = \"{tier}\""
    )]
    BackendOnOtherTier {
        /// The tier: `memory`, `disk` or `redis`.
        tier: Tier,
        /// The backend's name.
        backend: &'static str,
    },
}

impl Conflict {
    /// The fields involved, so an error can point at the options that set them.
    pub fn fields(&self) -> [Field; 2] {
        match self {
            Conflict::SensitiveButPersisted { .. } => [Field::Sensitive, Field::Tier],
            Conflict::IdleLongerThanLive { .. } => [Field::Tti, Field::Ttl],
            Conflict::MemoryTtlWithoutHybrid { .. } => [Field::MemoryTtl, Field::Tier],
            Conflict::FailSafeWithoutMemory { .. } => [Field::FailSafe, Field::Tier],
            Conflict::LimitWithoutMemory { limit, .. } => [*limit, Field::Tier],
            Conflict::BackendTierWithoutBackend | Conflict::BackendOnOtherTier { .. } => {
                [Field::Backend, Field::Tier]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_options_override_the_preset() {
        let explicit = RegionOptions {
            ttl: Some(Duration::from_secs(30)),
            max_bytes: Some(1 << 20),
            ..RegionOptions::EMPTY
        };
        let settings = RegionSettings::resolve(Some(Preset::SecurityCritical), &explicit);
        assert_eq!(settings.ttl, Some(Duration::from_secs(30)));
        assert_eq!(settings.max_bytes, Some(1 << 20));
        assert_eq!(
            settings.max_entries, None,
            "a byte limit replaces the preset's count limit"
        );
        assert!(settings.sensitive);
        assert_eq!(settings.tier, Tier::Memory);
    }

    #[test]
    fn resolve_is_usable_in_const() {
        const BULK: RegionSettings =
            RegionSettings::resolve(Some(Preset::Bulk), &RegionOptions::EMPTY);
        assert_eq!(BULK.tier, Tier::Hybrid);
        assert_eq!(BULK.compression.codec, Codec::Zstd);
    }

    #[test]
    fn conflicts_are_found() {
        let persisted = RegionSettings::resolve(
            Some(Preset::SecurityCritical),
            &RegionOptions {
                tier: Some(Tier::Redis),
                ..RegionOptions::EMPTY
            },
        );
        // The preset's own limit has no memory level to enforce it either.
        assert_eq!(
            persisted.conflicts(),
            vec![
                Conflict::SensitiveButPersisted { tier: Tier::Redis },
                Conflict::LimitWithoutMemory {
                    tier: Tier::Redis,
                    limit: Field::MaxEntries
                }
            ]
        );
        // The built-in limit is the memory level's: a Redis or disk region
        // that sets none has none.
        for tier in [Tier::Redis, Tier::Disk] {
            let plain = RegionSettings::resolve(
                None,
                &RegionOptions {
                    tier: Some(tier),
                    ..RegionOptions::EMPTY
                },
            );
            assert_eq!((plain.max_entries, plain.max_bytes), (None, None));
            assert!(plain.conflicts().is_empty(), "{tier}");
        }
        let idle = RegionSettings::resolve(
            None,
            &RegionOptions {
                ttl: Some(Duration::from_secs(60)),
                tti: Some(Duration::from_secs(61)),
                ..RegionOptions::EMPTY
            },
        );
        assert_eq!(idle.conflicts().len(), 1);
        assert!(RegionSettings::DEFAULT.conflicts().is_empty());
        for preset in Preset::ALL {
            assert!(
                RegionSettings::resolve(Some(*preset), &RegionOptions::EMPTY)
                    .conflicts()
                    .is_empty()
            );
        }
    }

    #[test]
    fn memory_ttl_overlays_applies_and_resolves() {
        let lower = RegionOptions {
            memory_ttl: Some(Duration::from_secs(30)),
            ..RegionOptions::EMPTY
        };
        assert!(!lower.is_empty());
        let upper = RegionOptions {
            memory_ttl: Some(Duration::from_secs(10)),
            ..RegionOptions::EMPTY
        };
        assert_eq!(
            lower.overlay(&RegionOptions::EMPTY).memory_ttl,
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            lower.overlay(&upper).memory_ttl,
            Some(Duration::from_secs(10))
        );
        let settings = RegionSettings::resolve(
            Some(Preset::Bulk),
            &RegionOptions {
                memory_ttl: Some(Duration::from_secs(5 * 60)),
                ..RegionOptions::EMPTY
            },
        );
        assert_eq!(settings.memory_ttl, Some(Duration::from_secs(5 * 60)));
        assert_eq!(settings.ttl, Some(Duration::from_secs(24 * 60 * 60)));
        assert_eq!(RegionSettings::DEFAULT.memory_ttl, None);
        for preset in Preset::ALL {
            assert_eq!(preset.options().memory_ttl, None, "{preset}");
        }
    }

    #[test]
    fn memory_ttl_needs_the_hybrid_tier() {
        let with = |tier: Option<Tier>| {
            RegionSettings::resolve(
                None,
                &RegionOptions {
                    memory_ttl: Some(Duration::from_secs(60)),
                    tier,
                    ..RegionOptions::EMPTY
                },
            )
        };
        assert!(with(Some(Tier::Hybrid)).conflicts().is_empty());
        for tier in [Tier::Memory, Tier::Disk, Tier::Redis] {
            let conflicts = with(Some(tier)).conflicts();
            assert_eq!(conflicts, vec![Conflict::MemoryTtlWithoutHybrid { tier }]);
            assert_eq!(conflicts[0].fields(), [Field::MemoryTtl, Field::Tier]);
            let message = conflicts[0].to_string();
            assert!(
                message.contains("memory_ttl only applies to tier = \"hybrid\""),
                "{message}"
            );
            assert!(
                message.contains(&format!("tier is \"{tier}\"")),
                "{message}"
            );
        }
        assert_eq!(
            with(None).conflicts(),
            vec![Conflict::MemoryTtlWithoutHybrid { tier: Tier::Memory }],
            "the default tier is memory"
        );
    }

    #[test]
    fn memory_ttl_longer_than_ttl_is_capped_not_rejected() {
        let settings = RegionSettings::resolve(
            None,
            &RegionOptions {
                ttl: Some(Duration::from_secs(60)),
                memory_ttl: Some(Duration::from_secs(600)),
                tier: Some(Tier::Hybrid),
                ..RegionOptions::EMPTY
            },
        );
        assert!(settings.conflicts().is_empty());
        assert_eq!(
            settings.effective_memory_ttl(),
            Some(Duration::from_secs(60))
        );
        let shorter = RegionSettings {
            memory_ttl: Some(Duration::from_secs(10)),
            ..settings
        };
        assert_eq!(
            shorter.effective_memory_ttl(),
            Some(Duration::from_secs(10))
        );
        let no_ttl = RegionSettings {
            ttl: None,
            ..shorter
        };
        assert_eq!(no_ttl.effective_memory_ttl(), Some(Duration::from_secs(10)));
        let only_ttl = RegionSettings {
            memory_ttl: None,
            ..settings
        };
        assert_eq!(
            only_ttl.effective_memory_ttl(),
            Some(Duration::from_secs(60))
        );
        assert_eq!(RegionSettings::DEFAULT.effective_memory_ttl(), None);
    }

    #[test]
    fn keywords_round_trip() {
        for tier in Tier::ALL {
            assert_eq!(Tier::parse(tier.as_str()), Some(*tier));
        }
        assert_eq!(
            Tier::expected(),
            "\"memory\", \"disk\", \"redis\", \"hybrid\", \"backend\""
        );
        assert_eq!(
            Preset::parse("security-critical"),
            Some(Preset::SecurityCritical)
        );
        assert_eq!(Eviction::parse("LRU"), None);
    }
}

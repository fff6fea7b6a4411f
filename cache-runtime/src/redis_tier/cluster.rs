//! Redis Cluster (feature `redis-cluster`): the client for a cluster's seed
//! nodes, the hash slot of a key, and the cluster's masters.
//!
//! A cluster splits the keyspace into 16,384 slots; a key's slot is the
//! CRC16 (XMODEM) of the key, or of its hash tag — the text between the
//! first `{` and the next `}`, when not empty. Commands touching several
//! keys in one transaction (`MULTI`, a script) need them in one slot:
//! the tier groups a batch's writes by slot, and the keys a script
//! touches together carry one hash tag (see `config/state_redis.rs`).

/// How many hash slots a cluster has.
pub(crate) const SLOTS: u16 = 16_384;

/// The cluster hash slot of `key`.
pub(crate) fn slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key)) % SLOTS
}

/// A key for something kept with `key` (a script touches both), named
/// `{key}{suffix}` and in the same slot: as it is when that name already
/// shares the slot, else with `key` as its hash tag; `None` when neither
/// does (a `key` whose slot is that of its whole name but that holds a `}`).
pub(crate) fn companion_key(key: &str, suffix: &str) -> Option<String> {
    let plain = format!("{key}{suffix}");
    if slot(plain.as_bytes()) == slot(key.as_bytes()) {
        return Some(plain);
    }
    let tagged = format!("{{{key}}}{suffix}");
    (slot(tagged.as_bytes()) == slot(key.as_bytes())).then_some(tagged)
}

/// The part of `key` its slot is computed from: the text between the first
/// `{` and the next `}` when it is not empty, else the whole key.
fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|&byte| byte == b'{') else {
        return key;
    };
    match key[open + 1..].iter().position(|&byte| byte == b'}') {
        Some(0) | None => key,
        Some(len) => &key[open + 1..open + 1 + len],
    }
}

/// CRC16 with the XMODEM parameters (polynomial 0x1021, initial value 0),
/// the checksum Redis Cluster computes slots with.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The client of a cluster's seed nodes, with the manager's time limits:
/// each attempt and the whole request (redirections and retries
/// included) within the response timeout.
#[cfg(feature = "redis-cluster")]
pub(crate) fn client(
    config: &super::RedisConfig,
    server: &str,
) -> Result<redis::cluster::ClusterClient, super::RedisError> {
    let seeds: Vec<&str> = config
        .cluster
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let secure = seeds
        .iter()
        .filter(|seed| seed.starts_with("rediss://"))
        .count();
    if secure != 0 && secure != seeds.len() {
        return Err(super::RedisError::Setup(format!(
            "{server}: the seeds mix redis:// and rediss://; a cluster is reached one way: give every seed the same scheme"
        )));
    }
    if secure == 0 && config.tls.is_set() {
        return Err(super::RedisError::Setup(format!(
            "{server}: TLS certificate files are set but the seeds are redis://; write rediss:// seeds to connect over TLS"
        )));
    }
    let mut builder = redis::cluster::ClusterClient::builder(seeds)
        .connection_timeout(config.connect_timeout)
        .response_timeout(config.response_timeout)
        .retries(3);
    if config.read_from_replicas {
        builder = builder.read_routing_strategy(redis::cluster_read_routing::RandomReplicaStrategy);
    }
    if secure > 0 {
        builder = super::tls::cluster_tls(builder, config, server)?;
    }
    builder.build().map_err(|source| super::RedisError::Url {
        url: server.to_owned(),
        source,
    })
}

/// The cluster's masters as `host:port`, sorted (what a scan of every key
/// walks through, in this order), from the client's own slot map: a
/// `PING` to every master.
#[cfg(feature = "redis-cluster")]
pub(crate) async fn masters(
    connection: &mut redis::cluster_async::ClusterConnection,
) -> redis::RedisResult<Vec<String>> {
    use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo};

    let answers = connection
        .route_command(
            redis::cmd("PING"),
            RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None)),
        )
        .await?;
    let mut masters: Vec<String> = match answers {
        redis::Value::Map(pairs) => pairs
            .into_iter()
            .filter_map(|(address, _)| redis::from_redis_value::<String>(address).ok())
            .collect(),
        other => {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Parse,
                "the masters' answers",
                format!("expected one per master, got {other:?}"),
            )));
        }
    };
    masters.sort();
    masters.dedup();
    Ok(masters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis_cluster() {
        // The reference values of the Redis Cluster specification and of
        // `CLUSTER KEYSLOT` on a real server.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(slot(b"foo"), 12_182);
        assert_eq!(slot(b"bar"), 5_061);
        assert_eq!(slot(b"{user1000}.following"), slot(b"{user1000}.followers"));
        assert_eq!(slot(b"{user1000}.following"), slot(b"user1000"));
    }

    #[test]
    fn companions_share_the_slot_or_there_is_none() {
        assert_eq!(
            companion_key("cache:config", ":history").as_deref(),
            Some("{cache:config}:history")
        );
        assert_eq!(
            companion_key("{t}:config", ":history").as_deref(),
            Some("{t}:config:history")
        );
        for key in ["a{b:config", "{tenant}x:config", "x{y:config"] {
            let companion = companion_key(key, ":history").expect(key);
            assert_eq!(slot(companion.as_bytes()), slot(key.as_bytes()), "{key}");
        }
        assert_eq!(companion_key("x{}y:config", ":history"), None);
    }

    #[test]
    fn only_a_non_empty_first_tag_counts() {
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"{unclosed"), b"{unclosed");
        assert_eq!(hash_tag(b"plain"), b"plain");
    }
}

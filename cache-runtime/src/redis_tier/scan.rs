//! `SCAN` over every key: one server's cursor, or each master of a cluster
//! in turn (sorted by address), with a cursor that names the master.
//!
//! A position reads and writes as text, for browsing cursors handed out to
//! callers: a server's cursor is its decimal `SCAN` cursor (`0` starts
//! over); a cluster's is `host:port/cursor`, the master and its own
//! cursor. What `SCAN` promises holds per master (a key present for the
//! whole scan is listed at least once); when a master named in a cursor
//! is no longer one (a failover), the scan goes on with the next master
//! by address, and keys of the failed-over slots may be missed.

use super::connection::Connection;

/// Where a scan of every key stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ScanPosition {
    /// The beginning.
    Start,
    /// One server's `SCAN` cursor (never 0: that is [`ScanPosition::Start`]).
    Server(u64),
    /// A cluster master (`host:port`) and the cursor of its own `SCAN`.
    #[cfg_attr(not(feature = "redis-cluster"), allow(dead_code))]
    Node {
        /// `host:port`.
        address: String,
        /// Its `SCAN` cursor (0: its first page).
        cursor: u64,
    },
}

impl ScanPosition {
    /// A cursor handed out before, read back; `None` when it is not one
    /// this kind of connection (`cluster` or not) hands out.
    pub(crate) fn parse(text: &str, cluster: bool) -> Option<ScanPosition> {
        if cluster {
            let (address, cursor) = text.rsplit_once('/')?;
            let (_, port) = address.rsplit_once(':')?;
            port.parse::<u16>().ok()?;
            return Some(ScanPosition::Node {
                address: address.to_owned(),
                cursor: cursor.parse().ok()?,
            });
        }
        match text.parse::<u64>().ok()? {
            0 => Some(ScanPosition::Start),
            cursor => Some(ScanPosition::Server(cursor)),
        }
    }
}

impl std::fmt::Display for ScanPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanPosition::Start => f.write_str("0"),
            ScanPosition::Server(cursor) => write!(f, "{cursor}"),
            ScanPosition::Node { address, cursor } => write!(f, "{address}/{cursor}"),
        }
    }
}

/// The `SCAN` command for one page.
fn command(cursor: u64, pattern: &str, count: usize) -> redis::Cmd {
    let mut command = redis::cmd("SCAN");
    command
        .arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(count);
    command
}

/// One `SCAN` page from `position` of the keys matching `pattern` (Redis'
/// glob): the keys and where to go on from, `None` once every key (on
/// every master) was scanned.
pub(crate) async fn page(
    connection: &mut Connection,
    position: &ScanPosition,
    pattern: &str,
    count: usize,
) -> redis::RedisResult<(Vec<Vec<u8>>, Option<ScanPosition>)> {
    match connection {
        Connection::Single(single) => {
            let cursor = match position {
                ScanPosition::Start => 0,
                ScanPosition::Server(cursor) => *cursor,
                ScanPosition::Node { .. } => return Err(foreign(position)),
            };
            let (next, keys): (u64, Vec<Vec<u8>>) =
                command(cursor, pattern, count).query_async(single).await?;
            Ok((keys, (next != 0).then_some(ScanPosition::Server(next))))
        }
        #[cfg(feature = "redis-cluster")]
        Connection::Cluster(cluster) => {
            use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};

            let masters = super::cluster::masters(cluster).await?;
            let (address, cursor) = match position {
                ScanPosition::Start => match masters.first() {
                    Some(first) => (first.clone(), 0),
                    None => return Ok((Vec::new(), None)),
                },
                ScanPosition::Node { address, cursor } if masters.contains(address) => {
                    (address.clone(), *cursor)
                }
                // No longer a master: go on with the next one.
                ScanPosition::Node { address, .. } => {
                    match masters.iter().find(|master| *master > address) {
                        Some(next) => (next.clone(), 0),
                        None => return Ok((Vec::new(), None)),
                    }
                }
                ScanPosition::Server(_) => return Err(foreign(position)),
            };
            let Some((host, port)) = address
                .rsplit_once(':')
                .and_then(|(host, port)| Some((host.to_owned(), port.parse::<u16>().ok()?)))
            else {
                return Err(foreign(position));
            };
            let reply = cluster
                .route_command(
                    command(cursor, pattern, count),
                    RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port }),
                )
                .await?;
            let (next, keys): (u64, Vec<Vec<u8>>) = redis::from_redis_value(reply)?;
            let following = if next != 0 {
                Some(ScanPosition::Node {
                    address,
                    cursor: next,
                })
            } else {
                masters
                    .iter()
                    .find(|master| **master > address)
                    .map(|master| ScanPosition::Node {
                        address: master.clone(),
                        cursor: 0,
                    })
            };
            Ok((keys, following))
        }
    }
}

/// A position of the other kind of connection (the level checks cursors
/// before they get here).
fn foreign(position: &ScanPosition) -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::Client,
        "a scan cursor of another kind of connection",
        position.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_as_written() {
        for (position, cluster) in [
            (ScanPosition::Start, false),
            (ScanPosition::Server(1_234), false),
            (
                ScanPosition::Node {
                    address: "127.0.0.1:7000".into(),
                    cursor: 99,
                },
                true,
            ),
            (
                ScanPosition::Node {
                    address: "[::1]:7000".into(),
                    cursor: 0,
                },
                true,
            ),
        ] {
            let text = position.to_string();
            assert_eq!(
                ScanPosition::parse(&text, cluster),
                Some(position),
                "{text}"
            );
        }
    }

    #[test]
    fn foreign_or_damaged_cursors_are_refused() {
        assert_eq!(ScanPosition::parse("127.0.0.1:7000/5", false), None);
        assert_eq!(ScanPosition::parse("5", true), None);
        assert_eq!(ScanPosition::parse("host/5", true), None);
        assert_eq!(ScanPosition::parse("host:port/5", true), None);
        assert_eq!(ScanPosition::parse("127.0.0.1:7000/x", true), None);
        assert_eq!(ScanPosition::parse("not-a-cursor", false), None);
    }
}

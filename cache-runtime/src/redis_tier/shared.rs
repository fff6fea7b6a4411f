//! [`SharedDocuments`]: small documents and leases that the instances of a
//! fleet keep in their shared Redis, for the tools built on the manager
//! (the admin API's alert rules, silences and alert states, and the lease
//! that picks the one instance that sends notifications).
//!
//! A document is a hash `{prefix}:shared:{name}` with a revision and a
//! body; a write names the revision it was made against and is refused
//! when another instance wrote first (compare-and-set in one script, so
//! two writers cannot both win). A lease is a key `{prefix}:lease:{name}`
//! holding its holder's id with a time to live: acquiring succeeds when it
//! is free or already ours (which renews it).

use std::sync::Arc;
use std::time::Duration;

use super::error::RedisError;
use super::link::RedisLink;

/// Writes `body` as the next revision if the stored one is `expected`;
/// returns the new revision, or -1 (another write came first).
const PUT: &str = r"
local rev = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
if rev ~= tonumber(ARGV[1]) then return -1 end
redis.call('HSET', KEYS[1], 'rev', rev + 1, 'body', ARGV[2])
return rev + 1
";

/// Takes the lease for `ARGV[1]` for `ARGV[2]` ms when free or already
/// held by it; 1 if held now, 0 if another holds it.
const LEASE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
elseif not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// Gives the lease up if `ARGV[1]` holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Records `ARGV[1]` as seen now (the server's clock, ms) in hash
/// `KEYS[1]`; returns that time.
const BEAT: &str = r"
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ms)
return ms
";

/// The server's time (ms) and every member with when it was last seen.
const MEMBERS: &str = r"
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = { ms }
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all do out[#out + 1] = all[i] end
return out
";

/// A member of a group, as [`SharedDocuments::members`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Member {
    /// Its holder id ([`SharedDocuments::holder`]).
    pub holder: String,
    /// How long ago it last said it was there (by the Redis server's
    /// clock, so the instances' clocks do not matter).
    pub age: Duration,
}

/// One stored document.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SharedDocument {
    /// How many writes it has had (the first write makes 1).
    pub revision: u64,
    /// Its body, as written.
    pub body: String,
}

/// Documents and leases in the manager's Redis, under its prefix; from
/// [`CacheManager::shared_documents`](crate::CacheManager::shared_documents).
/// Cheap to clone. Every call runs on the manager's Redis connection, with
/// its timeouts and circuit breaker.
#[derive(Clone)]
pub struct SharedDocuments {
    link: Arc<RedisLink>,
    holder: String,
}

impl std::fmt::Debug for SharedDocuments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedDocuments")
            .field("prefix", &self.link.config().prefix)
            .field("holder", &self.holder)
            .finish()
    }
}

impl SharedDocuments {
    pub(crate) fn new(link: Arc<RedisLink>, holder: String) -> SharedDocuments {
        SharedDocuments { link, holder }
    }

    /// This instance's id as a lease holder (unique per manager).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    fn document_key(&self, name: &str) -> String {
        format!("{}:shared:{name}", self.link.config().prefix)
    }

    fn lease_key(&self, name: &str) -> String {
        format!("{}:lease:{name}", self.link.config().prefix)
    }

    /// Document `name`, or `None` if it was never written.
    ///
    /// # Errors
    ///
    /// Redis failed or did not answer in time.
    pub async fn get(&self, name: &str) -> Result<Option<SharedDocument>, RedisError> {
        let key = self.document_key(name);
        let mut command = redis::cmd("HMGET");
        command.arg(&key).arg("rev").arg("body");
        let (revision, body): (Option<u64>, Option<String>) =
            self.send("HMGET (shared document)", key, command).await?;
        Ok(match (revision, body) {
            (Some(revision), Some(body)) => Some(SharedDocument { revision, body }),
            _ => None,
        })
    }

    /// Writes `body` as document `name`'s next revision if its revision is
    /// still `expected` (0: never written); the new revision, or `None`
    /// when another write came first (read it again and redo the change).
    ///
    /// # Errors
    ///
    /// Redis failed or did not answer in time (the write may or may not
    /// have happened: read the document to know).
    pub async fn put(
        &self,
        name: &str,
        expected: u64,
        body: &str,
    ) -> Result<Option<u64>, RedisError> {
        let key = self.document_key(name);
        let mut command = redis::cmd("EVAL");
        command.arg(PUT).arg(1).arg(&key).arg(expected).arg(body);
        let revision: i64 = self
            .send("EVAL (shared document write)", key, command)
            .await?;
        Ok(u64::try_from(revision).ok())
    }

    /// Takes lease `name` for `ttl`, or renews it if this instance holds
    /// it; whether this instance holds it now. Another instance takes it
    /// over once it lapses (its holder stopped renewing: it crashed, or
    /// cannot reach Redis).
    ///
    /// # Errors
    ///
    /// Redis failed or did not answer in time (then nobody can be sure
    /// who holds it: act as if another instance did).
    pub async fn hold_lease(&self, name: &str, ttl: Duration) -> Result<bool, RedisError> {
        let key = self.lease_key(name);
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut command = redis::cmd("EVAL");
        command
            .arg(LEASE)
            .arg(1)
            .arg(&key)
            .arg(&self.holder)
            .arg(ttl_ms);
        let held: i64 = self.send("EVAL (lease)", key, command).await?;
        Ok(held == 1)
    }

    fn members_key(&self, group: &str) -> String {
        format!("{}:members:{group}", self.link.config().prefix)
    }

    /// Says this instance is part of `group` now (a heartbeat: call it
    /// regularly; [`members`](Self::members) tells how long ago each
    /// member last did).
    ///
    /// # Errors
    ///
    /// Redis failed or did not answer in time.
    pub async fn beat(&self, group: &str) -> Result<(), RedisError> {
        let key = self.members_key(group);
        let mut command = redis::cmd("EVAL");
        command.arg(BEAT).arg(1).arg(&key).arg(&self.holder);
        self.send::<i64>("EVAL (member heartbeat)", key, command)
            .await
            .map(drop)
    }

    /// Every member of `group` and how long ago it last beat, oldest
    /// first.
    ///
    /// # Errors
    ///
    /// Redis failed or did not answer in time.
    pub async fn members(&self, group: &str) -> Result<Vec<Member>, RedisError> {
        let key = self.members_key(group);
        let mut command = redis::cmd("EVAL");
        command.arg(MEMBERS).arg(1).arg(&key);
        let reply: Vec<redis::Value> = self.send("EVAL (members)", key, command).await?;
        let text = |value: &redis::Value| -> Option<String> {
            match value {
                redis::Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
                redis::Value::SimpleString(text) => Some(text.clone()),
                redis::Value::Int(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let now: u64 = reply
            .first()
            .and_then(text)
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let mut members: Vec<Member> = reply[1.min(reply.len())..]
            .chunks(2)
            .filter_map(|pair| {
                let holder = text(pair.first()?)?;
                let seen: u64 = text(pair.get(1)?)?.parse().ok()?;
                Some(Member {
                    holder,
                    age: Duration::from_millis(now.saturating_sub(seen)),
                })
            })
            .collect();
        members.sort_by_key(|member| std::cmp::Reverse(member.age));
        Ok(members)
    }

    /// Takes this instance out of `group` (it stops, on purpose).
    ///
    /// # Errors
    ///
    /// Redis failed or did not answer in time.
    pub async fn leave(&self, group: &str) -> Result<(), RedisError> {
        self.forget(group, &self.holder.clone()).await
    }

    /// Takes `holder` out of `group` (a member known to be gone for good).
    ///
    /// # Errors
    ///
    /// Redis failed or did not answer in time.
    pub async fn forget(&self, group: &str, holder: &str) -> Result<(), RedisError> {
        let key = self.members_key(group);
        let mut command = redis::cmd("HDEL");
        command.arg(&key).arg(holder);
        self.send::<i64>("HDEL (member)", key, command)
            .await
            .map(drop)
    }

    /// Gives lease `name` up if this instance holds it (another instance
    /// can take it at once).
    ///
    /// # Errors
    ///
    /// Redis failed or did not answer in time (the lease then lapses by
    /// itself).
    pub async fn release_lease(&self, name: &str) -> Result<(), RedisError> {
        let key = self.lease_key(name);
        let mut command = redis::cmd("EVAL");
        command.arg(RELEASE).arg(1).arg(&key).arg(&self.holder);
        self.send::<i64>("EVAL (lease release)", key, command)
            .await
            .map(drop)
    }

    /// Sends `command` on the link, in its I/O context; a failure names
    /// `operation` and `key`.
    async fn send<T: redis::FromRedisValue>(
        &self,
        operation: &'static str,
        key: String,
        command: redis::Cmd,
    ) -> Result<T, RedisError> {
        let link = Arc::clone(&self.link);
        self.link
            .enter(async move {
                let key = &key;
                let command = &command;
                link.call(
                    operation,
                    || format!("key `{key}`"),
                    |mut connection| async move { command.query_async(&mut connection).await },
                )
                .await
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis_tier::RedisConfig;
    use crate::test_support::redis::RedisServer;

    fn documents(server: &RedisServer, holder: &str) -> SharedDocuments {
        let link =
            RedisLink::open(RedisConfig::new(server.url()).prefix("shared-test")).expect("link");
        SharedDocuments::new(Arc::new(link), holder.to_owned())
    }

    #[tokio::test]
    async fn writes_are_compare_and_set_and_racers_win_once() {
        let server = RedisServer::start();
        let (a, b) = (documents(&server, "a"), documents(&server, "b"));
        assert_eq!(a.get("rules").await.expect("get"), None);
        assert_eq!(a.put("rules", 0, "one").await.expect("put"), Some(1));
        // A write against an old revision is refused and changes nothing.
        assert_eq!(b.put("rules", 0, "stale").await.expect("put"), None);
        let read = b.get("rules").await.expect("get").expect("written");
        assert_eq!((read.revision, read.body.as_str()), (1, "one"));
        for revision in 1..=20u64 {
            let (from_a, from_b) = tokio::join!(
                a.put("rules", revision, "from a"),
                b.put("rules", revision, "from b")
            );
            let mut outcomes = [from_a.expect("a"), from_b.expect("b")];
            outcomes.sort();
            assert_eq!(outcomes, [None, Some(revision + 1)], "revision {revision}");
        }
    }

    #[tokio::test]
    async fn a_lease_has_one_holder_until_released_or_lapsed() {
        let server = RedisServer::start();
        let (a, b) = (documents(&server, "a"), documents(&server, "b"));
        let ttl = Duration::from_millis(300);
        assert!(a.hold_lease("notifier", ttl).await.expect("a"));
        assert!(!b.hold_lease("notifier", ttl).await.expect("b"));
        // Renewing keeps it past the first time to live.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(a.hold_lease("notifier", ttl).await.expect("a renews"));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!b.hold_lease("notifier", ttl).await.expect("b"));
        // Released: b takes it at once; a's release of b's lease does nothing.
        a.release_lease("notifier").await.expect("release");
        assert!(b.hold_lease("notifier", ttl).await.expect("b takes it"));
        a.release_lease("notifier").await.expect("no-op");
        assert!(!a.hold_lease("notifier", ttl).await.expect("still b's"));
        // Lapsed: b stopped renewing.
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(
            a.hold_lease("notifier", ttl)
                .await
                .expect("a after the lapse")
        );
    }

    #[tokio::test]
    async fn members_are_listed_with_their_age_until_they_leave() {
        let server = RedisServer::start();
        let (a, b) = (documents(&server, "a"), documents(&server, "b"));
        assert!(a.members("fleet").await.expect("members").is_empty());
        a.beat("fleet").await.expect("beat");
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.beat("fleet").await.expect("beat");
        let members = a.members("fleet").await.expect("members");
        let holders: Vec<&str> = members.iter().map(|m| m.holder.as_str()).collect();
        assert_eq!(holders, ["a", "b"], "oldest first");
        assert!(members[0].age >= Duration::from_millis(250), "{members:?}");
        assert!(members[1].age < members[0].age, "{members:?}");
        a.leave("fleet").await.expect("leave");
        let members = b.members("fleet").await.expect("members");
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].holder, "b");
    }
}

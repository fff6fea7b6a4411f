//! [`Connection`]: what a command is sent on — one server's multiplexed
//! connection, or a Redis Cluster's connection (which routes each command
//! to its slot's node and follows redirections). Both are cheap to clone
//! (a channel sender); the tier's code sends commands on either alike.

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{Cmd, Pipeline, RedisFuture, Value};

/// A connection to one server or to a cluster.
#[derive(Clone)]
pub(crate) enum Connection {
    /// One server's multiplexed connection.
    Single(MultiplexedConnection),
    /// A cluster's connection (feature `redis-cluster`).
    #[cfg(feature = "redis-cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Connection {
    /// Whether commands go to a cluster (keys of one multi-key command or
    /// transaction must then share a slot).
    pub(crate) fn is_cluster(&self) -> bool {
        match self {
            Connection::Single(_) => false,
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(_) => true,
        }
    }
}

impl Connection {
    /// Sends every pipeline at once and waits for all their answers, in
    /// order: what a cluster needs for a batch whose keys span slots (one
    /// transaction per slot; each goes to its own node). Each is spawned
    /// on the runtime this is awaited in (the link's I/O context).
    pub(crate) async fn query_all<T>(&self, pipelines: Vec<Pipeline>) -> Vec<redis::RedisResult<T>>
    where
        T: redis::FromRedisValue + Send + 'static,
    {
        let sent: Vec<tokio::task::JoinHandle<redis::RedisResult<T>>> = pipelines
            .into_iter()
            .map(|pipeline| {
                let mut connection = self.clone();
                tokio::spawn(async move { pipeline.query_async(&mut connection).await })
            })
            .collect();
        let mut answers = Vec::with_capacity(sent.len());
        for reply in sent {
            answers.push(reply.await.unwrap_or_else(|_| {
                Err(redis::RedisError::from(std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "the Redis I/O runtime stopped while a request was in flight",
                )))
            }));
        }
        answers
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_cluster() {
            "Connection::Cluster"
        } else {
            "Connection::Single"
        })
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(connection) => connection.req_packed_command(cmd),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(connection) => connection.get_db(),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(connection) => connection.get_db(),
        }
    }
}

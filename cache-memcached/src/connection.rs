//! One connection speaking memcached's text protocol: the commands the
//! backend needs (`get` with many keys, `add`, `set`, `delete`, pipelined
//! deletes, `version`, `lru_crawler metadump all`) and their replies.
//!
//! A reply of `ERROR`, `CLIENT_ERROR ..` or `SERVER_ERROR ..` is a
//! [`Fault::Server`]: the connection is still in step and goes back to the
//! pool. An I/O error or a reply that cannot be parsed is a
//! [`Fault::Io`]: the connection is dropped.

use std::collections::HashMap;
use std::io;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum Fault {
    /// The socket failed, or the reply was not the protocol's.
    Io(io::Error),
    /// The server answered with an error line.
    Server(String),
}

impl From<io::Error> for Fault {
    fn from(error: io::Error) -> Fault {
        Fault::Io(error)
    }
}

fn garbled(what: impl Into<String>) -> Fault {
    Fault::Io(io::Error::new(io::ErrorKind::InvalidData, what.into()))
}

/// One key of a `metadump`: its name and expiry (Unix seconds, `None`
/// for never).
pub(crate) struct Dumped {
    pub(crate) name: String,
    pub(crate) expires: Option<i64>,
}

/// A buffered connection.
pub(crate) struct Connection {
    stream: BufReader<TcpStream>,
}

impl Connection {
    pub(crate) fn new(stream: TcpStream) -> Connection {
        let _ = stream.set_nodelay(true);
        Connection {
            stream: BufReader::new(stream),
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), Fault> {
        self.stream.get_mut().write_all(bytes).await?;
        self.stream.get_mut().flush().await?;
        Ok(())
    }

    /// One reply line, without its `\r\n`; error lines are faults.
    async fn line(&mut self) -> Result<String, Fault> {
        let mut line = Vec::new();
        let read = self.stream.read_until(b'\n', &mut line).await?;
        if read == 0 {
            return Err(Fault::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            )));
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        let line = String::from_utf8(line).map_err(|_| garbled("a reply line that is not text"))?;
        if line == "ERROR" || line.starts_with("CLIENT_ERROR") || line.starts_with("SERVER_ERROR") {
            return Err(Fault::Server(line));
        }
        Ok(line)
    }

    /// The values of `names` (at most a few hundred), by name.
    pub(crate) async fn get_many(
        &mut self,
        names: &[String],
    ) -> Result<HashMap<String, Vec<u8>>, Fault> {
        let mut command = String::from("get");
        for name in names {
            command.push(' ');
            command.push_str(name);
        }
        command.push_str("\r\n");
        self.send(command.as_bytes()).await?;
        let mut found = HashMap::new();
        loop {
            let line = self.line().await?;
            if line == "END" {
                return Ok(found);
            }
            // VALUE <key> <flags> <bytes>
            let mut parts = line.split(' ');
            let (Some("VALUE"), Some(name), Some(_flags), Some(len)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(garbled(format!("unexpected reply to get: {line:?}")));
            };
            let len: usize = len
                .parse()
                .map_err(|_| garbled(format!("bad length in {line:?}")))?;
            let mut data = vec![0; len + 2];
            self.stream.read_exact(&mut data).await?;
            if !data.ends_with(b"\r\n") {
                return Err(garbled("a value not followed by \\r\\n"));
            }
            data.truncate(len);
            found.insert(name.to_owned(), data);
        }
    }

    /// `add` or `set` of `value` under `name`, expiring at `exptime` (0:
    /// never); whether it was stored (`add` refuses a held key).
    pub(crate) async fn store(
        &mut self,
        verb: &str,
        name: &str,
        value: &[u8],
        exptime: u64,
    ) -> Result<bool, Fault> {
        let mut command = format!("{verb} {name} 0 {exptime} {}\r\n", value.len()).into_bytes();
        command.extend_from_slice(value);
        command.extend_from_slice(b"\r\n");
        self.send(&command).await?;
        match self.line().await?.as_str() {
            "STORED" => Ok(true),
            "NOT_STORED" | "EXISTS" => Ok(false),
            other => Err(garbled(format!("unexpected reply to {verb}: {other:?}"))),
        }
    }

    /// Deletes each of `names`, pipelined; how many were held.
    pub(crate) async fn delete_many(&mut self, names: &[String]) -> Result<u64, Fault> {
        if names.is_empty() {
            return Ok(0);
        }
        let mut command = String::new();
        for name in names {
            command.push_str("delete ");
            command.push_str(name);
            command.push_str("\r\n");
        }
        self.send(command.as_bytes()).await?;
        let mut deleted = 0;
        for _ in names {
            match self.line().await?.as_str() {
                "DELETED" => deleted += 1,
                "NOT_FOUND" => {}
                other => return Err(garbled(format!("unexpected reply to delete: {other:?}"))),
            }
        }
        Ok(deleted)
    }

    /// The server's version.
    pub(crate) async fn version(&mut self) -> Result<String, Fault> {
        self.send(b"version\r\n").await?;
        let line = self.line().await?;
        line.strip_prefix("VERSION ")
            .map(str::to_owned)
            .ok_or_else(|| garbled(format!("unexpected reply to version: {line:?}")))
    }

    /// Every key the server holds, from `lru_crawler metadump hash` (a walk
    /// of the hash table) or, on servers without it, `metadump all` (a walk
    /// of the LRU lists, which skips items waiting to be relinked after a
    /// read): `Ok(None)` while another crawl runs (try again).
    pub(crate) async fn metadump(&mut self, by_hash: bool) -> Result<Option<Vec<Dumped>>, Fault> {
        self.send(if by_hash {
            b"lru_crawler metadump hash\r\n"
        } else {
            b"lru_crawler metadump all\r\n"
        })
        .await?;
        let mut keys = Vec::new();
        loop {
            let line = self.line().await?;
            if line == "END" {
                return Ok(Some(keys));
            }
            if line.starts_with("BUSY") {
                return Ok(None);
            }
            let mut name = None;
            let mut expires = None;
            for field in line.split(' ') {
                if let Some(value) = field.strip_prefix("key=") {
                    name = Some(value.to_owned());
                } else if let Some(value) = field.strip_prefix("exp=") {
                    let at: i64 = value
                        .parse()
                        .map_err(|_| garbled(format!("bad exp in {line:?}")))?;
                    expires = (at >= 0).then_some(at);
                }
            }
            match name {
                Some(name) => keys.push(Dumped { name, expires }),
                None => return Err(garbled(format!("unexpected metadump line: {line:?}"))),
            }
        }
    }
}

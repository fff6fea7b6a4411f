//! The `cache-admin` command line: subcommands over the admin API, human
//! tables by default, `--json` for scripts, and exit codes scripts can use.
//! The binary calls [`run`] with its arguments; a program can too (on a
//! thread outside any async runtime: it runs its own).

use std::path::PathBuf;
use std::time::Duration;

use crate::client::{Client, ClientError, Reply};
use clap::{Parser, Subcommand};
use hyper::Method;
use serde_json::{Value, json};

/// Exit code: done.
pub const OK: i32 = 0;
/// Exit code: the API refused the request (4xx other than 401/403): a bad argument,
/// an unknown region, a stale version, a rate limit.
pub const REFUSED: i32 = 1;
/// Exit code: bad usage (clap's own code).
pub const USAGE: i32 = 2;
/// Exit code: the API could not be reached, timed out or failed (5xx).
pub const UNAVAILABLE: i32 = 3;
/// Exit code: no valid token, or its role does not allow the command.
pub const DENIED: i32 = 4;

#[derive(Parser, Debug)]
#[command(
    name = "cache-admin",
    version,
    about = "Talk to a running service's cache admin API.",
    after_help = "The token is read from --token-file (a file holding the secret, or a token-list line `name role secret`) or from the CACHE_ADMIN_TOKEN environment variable, never from a flag.\n\nExit codes: 0 done; 1 refused by the API (bad argument, unknown region, stale version, rate limit); 2 bad usage; 3 API unreachable or failing; 4 missing, invalid or insufficient token."
)]
struct Cli {
    /// The admin API's base URL.
    #[arg(long, env = "CACHE_ADMIN_URL", default_value = "http://127.0.0.1:9464")]
    url: String,
    /// A file holding the token's secret.
    #[arg(long, env = "CACHE_ADMIN_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Every region: tier, entries, hit rate, limits.
    Regions,
    /// Statistics of every region, or of one.
    Stats {
        /// One region.
        region: Option<String>,
        /// Also a window's figures: 1m, 5m or 1h.
        #[arg(long)]
        window: Option<String>,
        /// Print again every this many seconds, until interrupted.
        #[arg(long, value_name = "SECONDS")]
        watch: Option<u64>,
    },
    /// Remove a region's entries (all, or those matching a pattern).
    Clear {
        /// The region.
        region: String,
        /// Only keys matching this glob.
        #[arg(long = "match", value_name = "PATTERN")]
        pattern: Option<String>,
        /// Every instance sharing the service's Redis, not only this one.
        #[arg(long)]
        fleet: bool,
        /// With --fleet: how long to wait for the other instances' answers.
        #[arg(long, value_name = "MS", default_value_t = 2000)]
        wait_ms: u64,
        /// Why (kept in the audit trail).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Browse a region's entries.
    Entries {
        /// The region.
        region: String,
        /// Only keys matching this glob.
        #[arg(long = "match", value_name = "PATTERN")]
        pattern: Option<String>,
        /// Entries per page.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Continue after this cursor (the previous page's `next`).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// One entry's value.
    Get {
        /// The region.
        region: String,
        /// The key's text form.
        key: String,
    },
    /// Remove one entry.
    Delete {
        /// The region.
        region: String,
        /// The key's text form.
        key: String,
    },
    /// Change a region's live policy (`none` drops a limit or TTL).
    Policy {
        /// The region.
        region: String,
        /// Time to live, e.g. 10m.
        #[arg(long)]
        ttl: Option<String>,
        /// Time to idle.
        #[arg(long)]
        tti: Option<String>,
        /// The memory level's TTL (hybrid regions).
        #[arg(long)]
        memory_ttl: Option<String>,
        /// Entry limit.
        #[arg(long)]
        max_entries: Option<String>,
        /// Byte limit, e.g. 64MiB.
        #[arg(long)]
        max_bytes: Option<String>,
        /// lru or tiny_lfu.
        #[arg(long)]
        eviction: Option<String>,
        /// none, lz4, zstd:4KiB...
        #[arg(long)]
        compression: Option<String>,
        /// true or false.
        #[arg(long)]
        enabled: Option<String>,
        /// Fail-safe grace, e.g. 1m.
        #[arg(long)]
        fail_safe: Option<String>,
        /// Why (kept in the audit trail).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// The configuration versions kept.
    History,
    /// Restore the configuration in force right after VERSION.
    Rollback {
        /// The version (0: no run-time overrides).
        version: u64,
        /// Why (kept in the audit trail).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Every mutation made through the admin API.
    Audit {
        /// Only this region's.
        #[arg(long)]
        region: Option<String>,
    },
    /// The service's health, with components.
    Health,
    /// Alerts firing and pending, and the latest changes of state.
    Alerts,
    /// Mute alerts for a while, list the silences, or end one.
    Silence {
        #[command(subcommand)]
        action: SilenceAction,
    },
}

#[derive(Subcommand, Debug)]
enum SilenceAction {
    /// Mute the alerts whose labels match every --match.
    Add {
        /// `label=value` or `label!=value` (labels: alertname, region,
        /// tier, backend, severity); repeat for more.
        #[arg(long = "match", value_name = "LABEL=VALUE", required = true)]
        matchers: Vec<String>,
        /// How long: 90s, 30m, 2h, 1d.
        #[arg(long = "for", value_name = "DURATION", default_value = "1h")]
        duration: String,
        /// Why (required; kept in the audit trail).
        #[arg(long)]
        comment: String,
    },
    /// Every silence: active, future, and expired in the last day.
    List,
    /// End a silence now.
    Expire {
        /// The silence's id.
        id: String,
    },
}

/// `label=value` or `label!=value` as the API's matcher.
fn matcher(text: &str) -> Result<Value, String> {
    let (name, value, negate) = match text.split_once("!=") {
        Some((name, value)) => (name, value, true),
        None => match text.split_once('=') {
            Some((name, value)) => (name, value, false),
            None => {
                return Err(format!(
                    "--match {text:?} is not label=value or label!=value"
                ));
            }
        },
    };
    if name.trim().is_empty() {
        return Err(format!("--match {text:?} names no label"));
    }
    Ok(json!({"name": name.trim(), "value": value, "negate": negate}))
}

/// `90s`, `30m`, `2h`, `1d` in seconds.
fn seconds(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("--for {text:?} is not a duration like 90s, 30m, 2h or 1d"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("--for {text:?}: the unit is s, m, h or d")),
    };
    Ok(number.saturating_mul(scale))
}

/// Runs the tool with `args` (the first is the program's name, as in
/// `std::env::args_os()`); its exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() { USAGE } else { OK };
            let _ = error.print();
            return code;
        }
    };
    let token = match read_token(cli.token_file.as_deref()) {
        Ok(token) => token,
        Err(message) => {
            eprintln!("cache-admin: {message}");
            return USAGE;
        }
    };
    let client = match Client::new(&cli.url, token) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("cache-admin: {error}");
            return USAGE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cache-admin: cannot start: {error}");
            return UNAVAILABLE;
        }
    };
    runtime.block_on(execute(&client, cli.command, cli.json))
}

fn read_token(file: Option<&std::path::Path>) -> Result<Option<String>, String> {
    let text = match file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read the token file {}: {error}", path.display()))?,
        None => match std::env::var("CACHE_ADMIN_TOKEN") {
            Ok(secret) => secret,
            Err(_) => return Ok(None),
        },
    };
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .unwrap_or_default();
    // A token-list line `name role secret`, or the secret alone.
    let secret = line.split_whitespace().last().unwrap_or_default();
    if secret.is_empty() {
        return Err(String::from("the token file holds no token"));
    }
    Ok(Some(secret.to_owned()))
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

async fn execute(client: &Client, command: Command, as_json: bool) -> i32 {
    let base = "/api/config/caching";
    let outcome = match command {
        Command::Regions => client.get(&format!("{base}/regions")).await,
        Command::Stats {
            region,
            window,
            watch,
        } => {
            let mut path = match &region {
                Some(region) => format!("{base}/statistics/{}", encode(region)),
                None => format!("{base}/statistics"),
            };
            if let Some(window) = &window {
                path.push_str(&format!("?window={}", encode(window)));
            }
            if let Some(every) = watch {
                loop {
                    let code = finish(client.get(&path).await, as_json, Shape::Stats);
                    if code != OK {
                        return code;
                    }
                    tokio::time::sleep(Duration::from_secs(every.max(1))).await;
                }
            }
            return finish(client.get(&path).await, as_json, Shape::Stats);
        }
        Command::Clear {
            region,
            pattern,
            fleet,
            wait_ms,
            reason,
        } => {
            let scope = if fleet { "fleet" } else { "instance" };
            let mut body = json!({"pattern": pattern, "reason": reason});
            if fleet {
                body["wait_ms"] = json!(wait_ms);
            }
            let outcome = client
                .send(
                    Method::POST,
                    &format!("{base}/{}/clear?scope={scope}", encode(&region)),
                    Some(&body),
                    &[],
                )
                .await;
            return finish(outcome, as_json, Shape::Clear);
        }
        Command::Entries {
            region,
            pattern,
            limit,
            cursor,
        } => {
            let mut path = format!("{base}/{}/entries?limit={limit}", encode(&region));
            if let Some(pattern) = pattern {
                path.push_str(&format!("&match={}", encode(&pattern)));
            }
            if let Some(cursor) = cursor {
                path.push_str(&format!("&cursor={}", encode(&cursor)));
            }
            return finish(client.get(&path).await, as_json, Shape::Entries);
        }
        Command::Get { region, key } => {
            client
                .get(&format!(
                    "{base}/{}/entries/{}",
                    encode(&region),
                    encode(&key)
                ))
                .await
        }
        Command::Delete { region, key } => {
            client
                .send(
                    Method::DELETE,
                    &format!("{base}/{}/entries/{}", encode(&region), encode(&key)),
                    None,
                    &[],
                )
                .await
        }
        Command::Policy {
            region,
            ttl,
            tti,
            memory_ttl,
            max_entries,
            max_bytes,
            eviction,
            compression,
            enabled,
            fail_safe,
            reason,
        } => {
            let mut body = serde_json::Map::new();
            for (field, value) in [
                ("ttl", ttl),
                ("tti", tti),
                ("memory_ttl", memory_ttl),
                ("max_entries", max_entries),
                ("max_bytes", max_bytes),
                ("eviction", eviction),
                ("compression", compression),
                ("enabled", enabled),
                ("fail_safe", fail_safe),
            ] {
                if let Some(value) = value {
                    body.insert(field.to_owned(), Value::String(value));
                }
            }
            body.insert(String::from("reason"), Value::String(reason));
            client
                .send(
                    Method::PUT,
                    &format!("{base}/{}/policy", encode(&region)),
                    Some(&Value::Object(body)),
                    &[],
                )
                .await
        }
        Command::History => {
            return finish(
                client.get(&format!("{base}/history")).await,
                as_json,
                Shape::History,
            );
        }
        Command::Rollback { version, reason } => {
            client
                .send(
                    Method::POST,
                    &format!("{base}/rollback/{version}"),
                    Some(&json!({"reason": reason})),
                    &[],
                )
                .await
        }
        Command::Audit { region } => {
            let path = match region {
                Some(region) => format!("{base}/audit?region={}", encode(&region)),
                None => format!("{base}/audit"),
            };
            return finish(client.get(&path).await, as_json, Shape::Audit);
        }
        Command::Health => {
            return finish(client.get("/health/ready").await, as_json, Shape::Health);
        }
        Command::Alerts => {
            return finish(
                client.get(&format!("{base}/alerts")).await,
                as_json,
                Shape::Alerts,
            );
        }
        Command::Silence { action } => match action {
            SilenceAction::List => {
                return finish(
                    client.get(&format!("{base}/alerts")).await,
                    as_json,
                    Shape::Silences,
                );
            }
            SilenceAction::Expire { id } => {
                client
                    .send(
                        Method::DELETE,
                        &format!("{base}/alerts/silences/{}", encode(&id)),
                        None,
                        &[],
                    )
                    .await
            }
            SilenceAction::Add {
                matchers,
                duration,
                comment,
            } => {
                let parsed: Result<Vec<Value>, String> =
                    matchers.iter().map(|m| matcher(m)).collect();
                let (matchers, duration) = match (parsed, seconds(&duration)) {
                    (Ok(matchers), Ok(duration)) => (matchers, duration),
                    (Err(message), _) | (_, Err(message)) => {
                        eprintln!("cache-admin: {message}");
                        return USAGE;
                    }
                };
                client
                    .send(
                        Method::POST,
                        &format!("{base}/alerts/silences"),
                        Some(&json!({
                            "matchers": matchers,
                            "duration_secs": duration,
                            "comment": comment,
                        })),
                        &[],
                    )
                    .await
            }
        },
    };
    let shape = Shape::Plain;
    finish(outcome, as_json, shape)
}

/// How to print a successful answer as a table.
#[derive(Clone, Copy)]
enum Shape {
    Plain,
    Clear,
    Stats,
    Entries,
    History,
    Audit,
    Health,
    Alerts,
    Silences,
}

fn finish(outcome: Result<Reply, ClientError>, as_json: bool, shape: Shape) -> i32 {
    let reply = match outcome {
        Ok(reply) => reply,
        Err(error) => {
            eprintln!("cache-admin: {error}");
            return UNAVAILABLE;
        }
    };
    let body = reply.json();
    if !reply.status.is_success() {
        let message = body["error"]["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| reply.text());
        eprintln!("cache-admin: {} {message}", reply.status.as_u16());
        for problem in body["error"]["problems"].as_array().into_iter().flatten() {
            eprintln!(
                "  - {} {}: {}",
                problem["region"].as_str().unwrap_or("?"),
                problem["field"].as_str().unwrap_or(""),
                problem["message"].as_str().unwrap_or("")
            );
        }
        return match reply.status.as_u16() {
            401 | 403 => DENIED,
            500..=599 => UNAVAILABLE,
            _ => REFUSED,
        };
    }
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&body).unwrap_or_else(|_| reply.text())
        );
        return OK;
    }
    print!("{}", render(&body, shape));
    OK
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::from("-"),
        Value::String(text) => text.clone(),
        Value::Number(number) => match number.as_f64() {
            Some(float) if number.is_f64() => format!("{float:.3}"),
            _ => number.to_string(),
        },
        other => other.to_string(),
    }
}

/// Rows under a header, columns aligned.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|name| name.chars().count()).collect();
    for row in &rows {
        for (index, value) in row.iter().enumerate() {
            widths[index] = widths[index].max(value.chars().count());
        }
    }
    let mut out = String::new();
    let line = |values: Vec<String>, out: &mut String| {
        let cells: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(index, value)| format!("{value:<width$}", width = widths[index]))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    };
    line(
        header.iter().map(|name| (*name).to_owned()).collect(),
        &mut out,
    );
    for row in rows {
        line(row, &mut out);
    }
    out
}

fn render(body: &Value, shape: Shape) -> String {
    let list = |value: &Value| {
        value
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![value.clone()])
    };
    match shape {
        Shape::Stats => table(
            &[
                "REGION",
                "HITS",
                "MISSES",
                "COALESCED",
                "HIT RATE",
                "ENTRIES",
                "EVICTIONS",
            ],
            list(body)
                .iter()
                .map(|view| {
                    let totals = &view["totals"];
                    vec![
                        cell(&view["region"]),
                        cell(&totals["hits"]),
                        cell(&totals["misses"]),
                        cell(&totals["coalesced"]),
                        cell(&totals["hit_rate"]),
                        cell(&totals["entries"]),
                        cell(&totals["evictions"]["total"]),
                    ]
                })
                .collect(),
        ),
        Shape::Entries => {
            let mut out = table(
                &["KEY", "SIZE", "TTL LEFT (ms)", "VALUE"],
                list(&body["entries"])
                    .iter()
                    .map(|entry| {
                        vec![
                            cell(&entry["key"]),
                            cell(&entry["size"]),
                            cell(&entry["ttl_left_ms"]),
                            entry.get("value").map(cell).unwrap_or_default(),
                        ]
                    })
                    .collect(),
            );
            if let Some(next) = body["next"].as_str() {
                out.push_str(&format!("more: --cursor {next}\n"));
            }
            out
        }
        Shape::History => table(
            &["VERSION", "ACTOR", "REASON", "CHANGES"],
            list(body)
                .iter()
                .map(|entry| {
                    let record = &entry["record"];
                    let changes = record["changes"]
                        .as_array()
                        .map(|changes| {
                            changes
                                .iter()
                                .map(|change| {
                                    format!(
                                        "{}.{}: {} -> {}",
                                        cell(&change["region"]),
                                        cell(&change["field"]),
                                        cell(&change["before"]),
                                        cell(&change["after"])
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join("; ")
                        })
                        .unwrap_or_default();
                    vec![
                        cell(&entry["version"]),
                        cell(&record["actor"]),
                        cell(&record["reason"]),
                        changes,
                    ]
                })
                .collect(),
        ),
        Shape::Audit => table(
            &["ID", "ACTOR", "ACTION", "REGION", "RESULT", "DETAIL"],
            list(body)
                .iter()
                .map(|record| {
                    vec![
                        cell(&record["id"]),
                        cell(&record["actor"]),
                        cell(&record["action"]),
                        cell(&record["region"]),
                        cell(&record["result"]),
                        cell(&record["detail"]),
                    ]
                })
                .collect(),
        ),
        Shape::Clear => {
            let mut out = format!(
                "{}: {} removed on this instance\n",
                cell(&body["region"]),
                cell(&body["removed"])
            );
            let fleet = &body["fleet"];
            if fleet.is_object() {
                out.push_str(&format!(
                    "fleet: {} of {} other instance(s) answered, {} removed there\n",
                    cell(&fleet["answered"]),
                    cell(&fleet["reached"]),
                    cell(&fleet["removed"])
                ));
                for answer in list(&fleet["answers"]) {
                    let what = match answer["error"].as_str() {
                        Some(error) => format!("failed: {error}"),
                        None => format!("{} removed", cell(&answer["removed"])),
                    };
                    out.push_str(&format!("  {}  {what}\n", cell(&answer["instance"])));
                }
            }
            out
        }
        Shape::Health => {
            let mut out = format!("status: {}\n", cell(&body["status"]));
            if body["components"].is_array() {
                out.push_str(&table(
                    &["COMPONENT", "STATUS", "DETAIL"],
                    list(&body["components"])
                        .iter()
                        .map(|component| {
                            vec![
                                cell(&component["name"]),
                                cell(&component["status"]),
                                cell(&component["detail"]),
                            ]
                        })
                        .collect(),
                ));
            }
            out
        }
        Shape::Alerts => {
            let subject =
                |labels: &Value| match (labels["region"].as_str(), labels["backend"].as_str()) {
                    (Some(region), _) => format!("region {region}"),
                    (None, Some(backend)) => backend.to_owned(),
                    (None, None) => String::from("-"),
                };
            let rows = list(&body["firing"])
                .iter()
                .chain(list(&body["pending"]).iter())
                .filter(|alert| alert.is_object())
                .map(|alert| {
                    let muted = match (
                        alert["silenced_by"].as_array().and_then(|s| s.first()),
                        alert["inhibited_by"].as_str(),
                    ) {
                        (Some(silence), _) => format!("silenced ({})", cell(silence)),
                        (None, Some(by)) => format!("inhibited by {by}"),
                        (None, None) => String::from("-"),
                    };
                    vec![
                        cell(&alert["state"]),
                        cell(&alert["labels"]["alertname"]),
                        subject(&alert["labels"]),
                        cell(&alert["value"]),
                        cell(&alert["threshold"]),
                        cell(&alert["labels"]["severity"]),
                        muted,
                    ]
                })
                .collect::<Vec<_>>();
            if rows.is_empty() {
                String::from("no alert firing or pending\n")
            } else {
                table(
                    &[
                        "STATE",
                        "ALERT",
                        "ON",
                        "VALUE",
                        "THRESHOLD",
                        "SEVERITY",
                        "MUTED",
                    ],
                    rows,
                )
            }
        }
        Shape::Silences => table(
            &[
                "ID",
                "MATCHERS",
                "ENDS (unix ms)",
                "BY",
                "ACTIVE",
                "COMMENT",
            ],
            list(&body["silences"])
                .iter()
                .filter(|silence| silence.is_object())
                .map(|silence| {
                    let matchers = list(&silence["matchers"])
                        .iter()
                        .map(|m| {
                            format!(
                                "{}{}{}",
                                cell(&m["name"]),
                                if m["negate"] == json!(true) {
                                    "!="
                                } else {
                                    "="
                                },
                                cell(&m["value"])
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(",");
                    vec![
                        cell(&silence["id"]),
                        matchers,
                        cell(&silence["ends_at_ms"]),
                        cell(&silence["created_by"]),
                        cell(&silence["active"]),
                        cell(&silence["comment"]),
                    ]
                })
                .collect(),
        ),
        Shape::Plain => {
            if body.is_array()
                && body
                    .as_array()
                    .is_some_and(|rows| rows.iter().all(Value::is_object))
            {
                regions_or_objects(body)
            } else {
                format!(
                    "{}\n",
                    serde_json::to_string_pretty(body).unwrap_or_default()
                )
            }
        }
    }
}

/// A list of objects: the regions table when it is one, else one column
/// per key of the first object.
fn regions_or_objects(body: &Value) -> String {
    let rows = body.as_array().cloned().unwrap_or_default();
    if rows.first().is_some_and(|row| row.get("tier").is_some()) {
        return table(
            &[
                "REGION",
                "TIER",
                "ENTRIES",
                "LIMIT",
                "HIT RATE",
                "SENSITIVE",
                "SITE",
            ],
            rows.iter()
                .map(|region| {
                    let limit = if region["max_entries"].is_null() {
                        cell(&region["max_bytes"])
                    } else {
                        cell(&region["max_entries"])
                    };
                    vec![
                        cell(&region["name"]),
                        cell(&region["tier"]),
                        cell(&region["entries"]),
                        limit,
                        cell(&region["hit_rate"]),
                        cell(&region["sensitive"]),
                        cell(&region["site"]),
                    ]
                })
                .collect(),
        );
    }
    format!(
        "{}\n",
        serde_json::to_string_pretty(body).unwrap_or_default()
    )
}

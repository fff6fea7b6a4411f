//! The dashboard: server-rendered page shells (`/`, `/regions/{id}`,
//! `/login`) and one vanilla JavaScript module with our own SVG charts,
//! embedded in the binary (nothing from a CDN, works offline).
//!
//! The shells hold no data: the module reads everything through the API
//! with the token the person typed on the login page, which it keeps in
//! the tab's session storage (never in a URL, never in a cookie). So the
//! pages are served without a token, under a Content-Security-Policy that
//! allows only this origin's script and style.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

/// The module, the stylesheet.
const APP_JS: &str = include_str!("app.js");
const APP_CSS: &str = include_str!("app.css");

/// What the pages may load: this origin's script, style and API; no
/// inline script, no frames.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The dashboard's routes (state-free; mounted next to the API).
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { page(Page::Regions) }))
        .route("/login", get(|| async { page(Page::Login) }))
        .route("/alerts", get(|| async { page(Page::Alerts) }))
        .route(
            "/regions/{id}",
            get(|Path(id): Path<String>| async move { page(Page::Region(id)) }),
        )
        .route(
            "/ui/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/ui/app.css",
            get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }),
        )
}

enum Page {
    Login,
    Regions,
    Region(String),
    Alerts,
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

fn page(page: Page) -> Response {
    let (title, name, body) = match &page {
        Page::Login => ("Sign in", "login", login_body()),
        Page::Regions => ("Cache regions", "regions", regions_body()),
        Page::Region(id) => ("Region", "region", region_body(id)),
        Page::Alerts => ("Alerts", "alerts", alerts_body()),
    };
    let region = match &page {
        Page::Region(id) => format!(" data-region=\"{}\"", escape(id)),
        Page::Login | Page::Regions | Page::Alerts => String::new(),
    };
    let nav = if matches!(page, Page::Login) {
        ""
    } else {
        r##"<nav aria-label="Main"><a href="/">Regions</a><a href="/alerts">Alerts</a></nav>
    <button type="button" id="sign-out">Sign out</button>"##
    };
    // Every signed-in page shows what fires, and says it to screen readers
    // (at most one announcement every 10 s).
    let banner = if matches!(page, Page::Login) {
        ""
    } else {
        r##"    <section id="alert-banner" class="banner" aria-labelledby="alert-banner-title" hidden>
      <h2 id="alert-banner-title">Alerts firing</h2>
      <ul id="alert-banner-list"></ul>
      <p><a href="/alerts">Every alert, silences and channels</a></p>
    </section>
    <p id="alert-announce" class="sr-only" aria-live="assertive"></p>
"##
    };
    let html = format!(
        r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} · cache-admin</title>
  <link rel="stylesheet" href="/ui/app.css">
  <script type="module" src="/ui/app.js"></script>
</head>
<body>
  <a class="skip" href="#main">Skip to content</a>
  <header class="top">
    <a class="brand" href="/">cache-admin</a>
    {nav}
  </header>
  <main id="main" data-page="{name}"{region} tabindex="-1">
{banner}{body}
  </main>
  <noscript><p>The dashboard needs JavaScript; the API and the <code>cache-admin</code> CLI work without it.</p></noscript>
</body>
</html>
"##
    );
    (
        [
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(POLICY),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        Html(html),
    )
        .into_response()
}

fn login_body() -> String {
    String::from(
        r##"    <h1>Sign in</h1>
    <form id="login" class="panel">
      <label>Admin API token
        <input id="token" name="token" type="password" autocomplete="current-password" required>
      </label>
      <p class="muted">The token stays in this tab's session storage until you sign out or close the tab.</p>
      <button type="submit">Sign in</button>
      <p id="login-status" class="status" role="alert"></p>
    </form>"##,
    )
}

fn regions_body() -> String {
    String::from(
        r##"    <h1>Cache regions</h1>
    <div class="toolbar">
      <label>Filter
        <input id="filter" type="search" placeholder="name, tier or site">
      </label>
      <button type="button" id="pause" class="secondary" aria-pressed="false">Pause live updates</button>
      <p id="live" class="muted status" aria-live="polite"></p>
    </div>
    <table id="regions">
      <caption class="sr-only">Every region with its live figures; column headers sort.</caption>
      <thead><tr>
        <th scope="col" aria-sort="ascending"><button type="button" data-sort="name">Region</button></th>
        <th scope="col"><button type="button" data-sort="tier">Tier</button></th>
        <th scope="col" class="num"><button type="button" data-sort="entries">Entries</button></th>
        <th scope="col">Size vs limit</th>
        <th scope="col" class="num"><button type="button" data-sort="hit_rate">Hit rate</button></th>
        <th scope="col" class="num"><button type="button" data-sort="hits">Hits</button></th>
        <th scope="col" class="num"><button type="button" data-sort="misses">Misses</button></th>
        <th scope="col" class="num"><button type="button" data-sort="p99">p99</button></th>
        <th scope="col" class="num"><button type="button" data-sort="evictions">Evictions</button></th>
        <th scope="col"><button type="button" data-sort="alerts">Status</button></th>
        <th scope="col">Declared at</th>
      </tr></thead>
      <tbody><tr><td colspan="11" class="muted">Loading…</td></tr></tbody>
    </table>
    <h2>Effectiveness</h2>
    <p id="effectiveness" class="panel">Loading…</p>
    <section id="fleet" hidden aria-labelledby="fleet-title">
      <h2 id="fleet-title">Fleet</h2>
      <p class="muted">Every instance that flushes its counters to the shared Redis, summed (refreshed every 10 s).</p>
      <table id="fleet-table"><caption class="sr-only">Each region's figures over the whole fleet.</caption>
        <thead><tr><th scope="col">Region</th><th scope="col" class="num">Hits</th><th scope="col" class="num">Misses</th><th scope="col" class="num">Hit rate</th><th scope="col" class="num">Loads</th><th scope="col" class="num">Second-level errors</th></tr></thead>
        <tbody></tbody></table>
    </section>
    <h2 id="heatmap-title">Memory heatmap</h2>
    <section class="panel" aria-labelledby="heatmap-title">
      <p class="muted">Each limited region's size as a share of its limit, one column per second (last minute); darker is fuller.</p>
      <svg id="heatmap" class="heatmap" role="img" aria-labelledby="heatmap-title heatmap-text"></svg>
      <p id="heatmap-text" class="muted"></p>
      <details>
        <summary>As a table</summary>
        <table id="heatmap-table"><caption class="sr-only">Share of the limit per region.</caption>
          <thead><tr><th scope="col">Region</th><th scope="col" class="num">Now</th><th scope="col" class="num">Peak (last minute)</th></tr></thead>
          <tbody></tbody></table>
      </details>
    </section>"##,
    )
}

fn region_body(id: &str) -> String {
    let id = escape(id);
    format!(
        r##"    <h1>Region <code>{id}</code></h1>
    <p id="summary" class="muted">Loading…</p>
    <div class="toolbar">
      <button type="button" id="pause" class="secondary" aria-pressed="false">Pause live updates</button>
      <p id="live" class="muted status" aria-live="polite"></p>
    </div>
    <div class="grid">
      <section class="panel" aria-labelledby="chart-gets-title">
        <h2 id="chart-gets-title">Gets per second</h2>
        <div class="legend"><span class="s0">hits</span><span class="s1">misses</span></div>
        <svg id="chart-gets" class="chart" role="img" aria-labelledby="chart-gets-title chart-gets-text" viewBox="0 0 600 160"></svg>
        <p id="chart-gets-text" class="muted">Waiting for the first figures…</p>
      </section>
      <section class="panel" aria-labelledby="chart-rate-title">
        <h2 id="chart-rate-title">Hit rate, second by second</h2>
        <div class="legend"><span class="s0">hit rate</span></div>
        <svg id="chart-rate" class="chart" role="img" aria-labelledby="chart-rate-title chart-rate-text" viewBox="0 0 600 160"></svg>
        <p id="chart-rate-text" class="muted">Waiting for the first figures…</p>
      </section>
      <section class="panel" aria-labelledby="chart-latency-title">
        <h2 id="chart-latency-title">Get latency since start</h2>
        <div class="legend"><span class="s0">p50</span><span class="s1">p95</span><span class="s2">p99</span></div>
        <svg id="chart-latency" class="chart" role="img" aria-labelledby="chart-latency-title chart-latency-text" viewBox="0 0 600 160"></svg>
        <p id="chart-latency-text" class="muted">Waiting for the first figures…</p>
      </section>
      <section class="panel" aria-labelledby="chart-entries-title">
        <h2 id="chart-entries-title">Entries and the limit</h2>
        <div class="legend"><span class="s0">entries</span><span class="s1">limit</span></div>
        <svg id="chart-entries" class="chart" role="img" aria-labelledby="chart-entries-title chart-entries-text" viewBox="0 0 600 160"></svg>
        <p id="chart-entries-text" class="muted">Waiting for the first figures…</p>
      </section>
      <section class="panel" aria-labelledby="chart-evictions-title">
        <h2 id="chart-evictions-title">Evictions per second, by cause</h2>
        <div class="legend"><span class="s0">expired</span><span class="s1">idle</span><span class="s2">size</span></div>
        <svg id="chart-evictions" class="chart" role="img" aria-labelledby="chart-evictions-title chart-evictions-text" viewBox="0 0 600 160"></svg>
        <p id="chart-evictions-text" class="muted">Waiting for the first figures…</p>
        <p id="tiers" class="muted"></p>
      </section>
      <section class="panel" aria-labelledby="chart-history-title">
        <h2 id="chart-history-title">History</h2>
        <div class="toolbar">
          <label>Range<select id="history-range"><option value="1h">last hour (10 s points)</option><option value="24h">last day (1 min points)</option></select></label>
        </div>
        <div class="legend"><span class="s0">hits</span><span class="s1">misses</span></div>
        <svg id="chart-history" class="chart" role="img" aria-labelledby="chart-history-title chart-history-text" viewBox="0 0 600 160"></svg>
        <p id="chart-history-text" class="muted">Loading…</p>
        <details>
          <summary>As a table</summary>
          <table id="history-table"><caption class="sr-only">Each point of the region's history.</caption>
            <thead><tr><th scope="col">From</th><th scope="col" class="num">Hits</th><th scope="col" class="num">Misses</th><th scope="col" class="num">Evictions</th><th scope="col" class="num">Entries</th><th scope="col" class="num">p99</th></tr></thead>
            <tbody></tbody></table>
        </details>
      </section>
      <section class="panel" aria-labelledby="region-alerts-title">
        <h2 id="region-alerts-title">Alerts on this region</h2>
        <ul id="region-alerts"><li class="muted">Loading…</li></ul>
      </section>
      <section class="panel" aria-labelledby="settings-title">
        <h2 id="settings-title">Settings</h2>
        <table id="settings"><caption class="sr-only">Effective settings and the layer that set each.</caption>
          <thead><tr><th scope="col">Field</th><th scope="col">Value</th><th scope="col">Set by</th></tr></thead><tbody></tbody></table>
      </section>
    </div>
    <section aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      <div class="grid">
        <form id="clear" class="panel">
          <h3>Clear</h3>
          <label>Only keys matching (optional)<input name="pattern" placeholder="user:*"></label>
          <label>Type the region name to confirm<input name="confirm" autocomplete="off" required></label>
          <label><span><input type="checkbox" name="fleet"> every instance (fleet)</span></label>
          <button type="submit" class="danger">Clear</button>
          <p class="status" role="status"></p>
        </form>
        <form id="policy" class="panel">
          <h3>Policy</h3>
          <label>TTL<input name="ttl" placeholder="10m, or none"></label>
          <label>Idle time (TTI)<input name="tti" placeholder="5m, or none"></label>
          <label>Memory TTL (hybrid)<input name="memory_ttl" placeholder="1m, or none"></label>
          <label>Max entries<input name="max_entries" inputmode="numeric"></label>
          <label>Max bytes<input name="max_bytes" placeholder="64MiB"></label>
          <label>Eviction<select name="eviction"><option value="">(unchanged)</option><option>tinylfu</option><option>lru</option></select></label>
          <label>Compression<select name="compression"><option value="">(unchanged)</option><option>none</option><option>lz4</option><option>zstd</option></select></label>
          <label>Enabled<select name="enabled"><option value="">(unchanged)</option><option>true</option><option>false</option></select></label>
          <label>Fail-safe<input name="fail_safe" placeholder="30s, or off"></label>
          <label>Reason<input name="reason"></label>
          <p class="diff muted" aria-live="polite"></p>
          <button type="submit">Apply</button>
          <p class="status" role="status"></p>
        </form>
      </div>
    </section>
    <section aria-labelledby="entries-title">
      <h2 id="entries-title">Entries</h2>
      <form id="browse" class="toolbar">
        <label>Keys matching<input name="match" placeholder="*"></label>
        <button type="submit">Search</button>
      </form>
      <p id="entries-status" class="status" role="status"></p>
      <table id="entries"><caption class="sr-only">Entries of this region.</caption>
        <thead><tr><th scope="col">Key</th><th scope="col" class="num">Size</th><th scope="col" class="num">TTL left</th><th scope="col">Tier</th><th scope="col">Value</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody></tbody></table>
      <button type="button" id="more" class="secondary" hidden>Load more</button>
    </section>
    <section aria-labelledby="history-title">
      <h2 id="history-title">Configuration history</h2>
      <table id="history"><thead><tr><th scope="col">Version</th><th scope="col">By</th><th scope="col">Changes</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody></tbody></table>
      <p id="history-status" class="status" role="status"></p>
    </section>
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit trail</h2>
      <table id="audit"><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Result</th></tr></thead><tbody></tbody></table>
    </section>"##
    )
}

fn alerts_body() -> String {
    String::from(
        r##"    <h1>Alerts</h1>
    <div class="toolbar">
      <p id="live" class="muted status" aria-live="polite"></p>
    </div>
    <p id="alerts-summary" class="muted">Loading…</p>
    <section aria-labelledby="active-title">
      <h2 id="active-title">Firing and pending</h2>
      <table id="active"><caption class="sr-only">Alerts firing and pending, with their value and threshold.</caption>
        <thead><tr><th scope="col">State</th><th scope="col">Alert</th><th scope="col">On</th><th scope="col" class="num">Value</th><th scope="col" class="num">Threshold</th><th scope="col">Since</th><th scope="col">Muted</th></tr></thead>
        <tbody></tbody></table>
    </section>
    <section aria-labelledby="silences-title">
      <h2 id="silences-title">Silences</h2>
      <form id="silence" class="panel">
        <label>Matchers (label=value or label!=value, comma-separated)<input name="matchers" placeholder="region=users, alertname=hit_rate_low" required></label>
        <label>For<select name="duration"><option value="1800">30 minutes</option><option value="3600" selected>1 hour</option><option value="14400">4 hours</option><option value="86400">1 day</option></select></label>
        <label>Why<input name="comment" required></label>
        <button type="submit">Silence</button>
        <p class="status" role="status"></p>
      </form>
      <table id="silences"><caption class="sr-only">Silences: what they mute, until when, who made them.</caption>
        <thead><tr><th scope="col">Matchers</th><th scope="col">Until</th><th scope="col">By</th><th scope="col">Why</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody></tbody></table>
    </section>
    <section aria-labelledby="channels-title">
      <h2 id="channels-title">Notification channels</h2>
      <table id="channels"><caption class="sr-only">Channels and how their deliveries went.</caption>
        <thead><tr><th scope="col">Channel</th><th scope="col">Kind</th><th scope="col" class="num">Sent</th><th scope="col" class="num">Failed</th><th scope="col">Last error</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody></tbody></table>
      <p id="channels-status" class="status" role="status"></p>
    </section>
    <section aria-labelledby="changes-title">
      <h2 id="changes-title">Recent changes</h2>
      <table id="changes"><caption class="sr-only">Alerts that became pending, fired or resolved, newest first.</caption>
        <thead><tr><th scope="col">When</th><th scope="col">State</th><th scope="col">Alert</th></tr></thead>
        <tbody></tbody></table>
    </section>
    <section aria-labelledby="rules-title">
      <h2 id="rules-title">Rules</h2>
      <form id="rules" class="panel">
        <label>The rules document (JSON; secrets show as {"set": true} and are kept)<textarea name="document" rows="18" spellcheck="false"></textarea></label>
        <button type="submit">Apply</button>
        <p class="status" role="status"></p>
        <ul class="problems error"></ul>
      </form>
    </section>"##,
    )
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_are_escaped_in_pages() {
        assert_eq!(
            escape(r##"<a href="x">'&'</a>"##),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let body = region_body("<script>alert(1)</script>");
        assert!(!body.contains("<script>"), "{body}");
    }
}

//! A region's entries: cursor paging with a pattern, one entry by key,
//! removal. Values only for `admin` tokens; sensitive regions refuse.

use axum::extract::State;
use cache_runtime::manager::EntryQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiPath, ApiQuery};
use crate::audit::Operation;
use crate::auth::{AdminCaller, Caller};
use crate::config::Role;
use crate::error::{ApiError, ErrorBody};
use crate::state::AdminState;

/// Which entries.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntriesQuery {
    /// A glob over the keys' text forms.
    #[serde(rename = "match")]
    #[param(rename = "match")]
    pub pattern: Option<String>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 1,000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// One entry.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EntryItem {
    /// The key's text form.
    pub key: String,
    /// The size of the value's JSON text, in bytes.
    pub size: usize,
    /// Milliseconds since it was stored, when known.
    pub age_ms: Option<u64>,
    /// Milliseconds it has left, when it expires by age.
    pub ttl_left_ms: Option<u64>,
    /// The region's tier (where the entry is kept).
    pub tier: String,
    /// The value as JSON (admin tokens only); cut past the configured
    /// limit, then a string with the start of its JSON text.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub value: Option<serde_json::Value>,
    /// Whether `value` was cut.
    pub truncated: bool,
}

/// A page of entries.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EntriesPage {
    /// The region.
    pub region: String,
    /// The entries.
    pub entries: Vec<EntryItem>,
    /// The cursor of the next page; `null` at the end.
    pub next: Option<String>,
}

/// The value as shown: whole, or cut to `limit` bytes of its JSON text.
fn shown(value: serde_json::Value, limit: usize) -> (usize, serde_json::Value, bool) {
    let text = value.to_string();
    let size = text.len();
    if size <= limit {
        return (size, value, false);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (
        size,
        serde_json::Value::String(text[..end].to_owned()),
        true,
    )
}

/// A page of a region's entries.
#[utoipa::path(get, path = "/api/config/caching/{id}/entries", tag = "entries",
    params(("id" = String, Path, description = "The region's name"), EntriesQuery),
    responses((status = 200, body = EntriesPage),
        (status = 400, description = "Bad cursor or limit", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "A sensitive region", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Keys or values without serde", body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(state): State<AdminState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<EntriesQuery>,
) -> Result<axum::Json<EntriesPage>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1_000).contains(&limit) {
        return Err(ApiError::bad_request(
            "bad_limit",
            format!("limit {limit} is not between 1 and 1000"),
        )
        .field("limit"));
    }
    let manager = state.manager();
    let tier = manager.settings(&id)?.tier.as_str().to_owned();
    let mut entry_query = EntryQuery::first(limit);
    if let Some(pattern) = query.pattern {
        entry_query = entry_query.matching(pattern);
    }
    if let Some(cursor) = query.cursor {
        entry_query = entry_query.after(cursor);
    }
    let page = manager.entries(&id, &entry_query).await?;
    let values = caller.role >= Role::Admin;
    let value_limit = state.config().value_limit;
    let entries = page
        .entries
        .into_iter()
        .map(|entry| {
            let (size, value, truncated) = shown(entry.value, value_limit);
            EntryItem {
                key: entry.key,
                size,
                age_ms: entry.age_ms,
                ttl_left_ms: entry.expires_in_ms,
                tier: tier.clone(),
                value: values.then_some(value),
                truncated: values && truncated,
            }
        })
        .collect();
    Ok(axum::Json(EntriesPage {
        region: id,
        entries,
        next: page.next,
    }))
}

/// One entry's value.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EntryValue {
    /// The region.
    pub region: String,
    /// The key, as given.
    pub key: String,
    /// The value as JSON.
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

/// One entry's value (admin tokens).
#[utoipa::path(get, path = "/api/config/caching/{id}/entries/{key}", tag = "entries",
    params(("id" = String, Path, description = "The region's name"),
        ("key" = String, Path, description = "The key's text form")),
    responses((status = 200, body = EntryValue),
        (status = 400, description = "Not a key of this region", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such region or entry", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get(
    State(state): State<AdminState>,
    AdminCaller(_): AdminCaller,
    ApiPath((id, key)): ApiPath<(String, String)>,
) -> Result<axum::Json<EntryValue>, ApiError> {
    let found = state
        .manager()
        .get_json(&id, &serde_json::Value::String(key.clone()))
        .await?;
    match found {
        Some(value) => Ok(axum::Json(EntryValue {
            region: id,
            key,
            value,
        })),
        None => Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "no_entry",
            format!("region {id:?} holds no entry for that key"),
        )
        .region(id)),
    }
}

/// What a removal did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Removed {
    /// Whether the region held the key.
    pub removed: bool,
}

/// Removes one entry.
#[utoipa::path(delete, path = "/api/config/caching/{id}/entries/{key}", tag = "entries",
    params(("id" = String, Path, description = "The region's name"),
        ("key" = String, Path, description = "The key's text form")),
    responses((status = 200, body = Removed),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete(
    State(state): State<AdminState>,
    AdminCaller(caller): AdminCaller,
    ApiPath((id, key)): ApiPath<(String, String)>,
) -> Result<axum::Json<Removed>, ApiError> {
    state.allow_mutation(&caller)?;
    let manager = state.manager().clone();
    let sensitive = manager.settings(&id)?.sensitive;
    let detail = if sensitive {
        String::from("one key")
    } else {
        format!("key {key:?}")
    };
    let region = id.clone();
    let removed = state
        .mutate(
            Operation {
                actor: &caller.name,
                action: "delete_entry",
                region: Some(&id),
                reason: "",
                detail,
            },
            async move {
                let removed = manager
                    .remove(&region, &serde_json::Value::String(key))
                    .await?;
                Ok((removed, None))
            },
        )
        .await?;
    Ok(axum::Json(Removed { removed }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let (size, value, cut) = shown(serde_json::json!("ééééé"), 4);
        assert!(cut);
        assert_eq!(size, 12);
        assert_eq!(value, serde_json::json!("\"é"));
        let (_, whole, cut) = shown(serde_json::json!([1, 2]), 100);
        assert!(!cut);
        assert_eq!(whole, serde_json::json!([1, 2]));
    }
}

use cache_runtime::cache_region;

#[cache_region(name = "pages", key = String, value = String, enabled = "no")]
pub struct Marker;

#[cache_region(name = "quotes", key = String, value = String, enabled)]
pub struct Quotes;

fn main() {}

use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = TenantId, value = String)]
pub struct Marker;

fn main() {}

use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String)]
pub enum Marker {
    Plain,
    WithData(u32),
}

fn main() {}

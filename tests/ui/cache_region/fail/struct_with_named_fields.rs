use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String)]
pub struct Marker {
    pub entries: Vec<String>,
}

fn main() {}

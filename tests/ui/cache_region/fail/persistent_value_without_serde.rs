use cache_runtime::cache_region;

/// A value without serde, on a tier that writes values to disk.
#[derive(Clone)]
pub struct Report {
    pub lines: Vec<String>,
}

#[cache_region(name = "reports", key = String, value = Report, tier = "disk", ttl = "1d")]
pub struct Reports;

fn main() {}

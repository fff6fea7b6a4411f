use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, ttl = "5 mins")]
pub struct ModelMetadata;

fn main() {
    let descriptor = <ModelMetadata as cache_runtime::CacheRegion>::DESCRIPTOR;
    let key: <ModelMetadata as cache_runtime::CacheRegion>::Key = String::new();
    let _ = (descriptor.name(), key);
    let _ = cache_runtime::registry().region::<ModelMetadata>();
}

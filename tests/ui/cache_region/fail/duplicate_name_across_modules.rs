use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String)]
pub struct ModelMetadata;

pub mod nested {
    #[cache_runtime::cache_region(name = "model-metadata", key = String, value = Vec<u8>)]
    pub struct ModelMetadataBytes;
}

fn main() {}

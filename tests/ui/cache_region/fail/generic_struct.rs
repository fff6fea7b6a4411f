use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String)]
pub struct Marker<T>(std::marker::PhantomData<T>);

fn main() {}

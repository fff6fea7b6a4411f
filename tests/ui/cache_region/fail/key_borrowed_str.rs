use cache_runtime::cache_region;

#[cache_region(name = "greetings", key = &str, value = String)]
pub struct Greetings;

fn main() {}

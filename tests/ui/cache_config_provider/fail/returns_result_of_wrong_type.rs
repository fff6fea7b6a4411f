use cache_runtime::cache_config_provider;

#[cache_config_provider]
fn from_file() -> Result<String, std::io::Error> {
    Ok(String::new())
}

fn main() {}

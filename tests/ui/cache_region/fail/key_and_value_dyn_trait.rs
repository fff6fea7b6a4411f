use cache_runtime::cache_region;

pub trait Shape {
    fn area(&self) -> f64;
}

#[cache_region(name = "shapes", key = dyn Shape, value = dyn Shape)]
pub struct Shapes;

fn main() {}

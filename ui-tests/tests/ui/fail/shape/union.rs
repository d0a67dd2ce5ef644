use typed_sessions::Session;

#[derive(Session)]
union Bits {
    int: u64,
    float: f64,
}

fn main() {}

use telemetry_runtime::metered;

#[metered]
fn wrong_type() -> u32 {
    let s: &str = "not a number";
    s
}

#[metered]
async fn wrong_async() -> Result<u32, String> {
    Ok("text")
}

fn main() {}

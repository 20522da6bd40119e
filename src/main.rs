//! `wuye serve [--demo]` and `wuye migrate`.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    wuye::cli::run().await
}

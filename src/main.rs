//! `wuye serve [--demo]` and `wuye migrate`.

// glibc malloc showed up at ~12 % of a warm bill look-up's CPU; mimalloc is markedly cheaper.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    wuye::cli::run().await
}

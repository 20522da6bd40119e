//! Command line: parse, load settings, run.
use crate::config::Settings;
use crate::startup::Application;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "wuye", about = "物业缴费 backend: owner app and staff API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        /// Embedded demo: SQLite under ./data, generated data key, demo company and demo login.
        #[arg(long)]
        demo: bool,
    },
    /// Run database migrations and exit.
    Migrate,
}

/// Entry point behind `main`.
pub async fn run() -> ExitCode {
    crate::telemetry::init_tracing();
    let cli = Cli::parse();
    let mut settings = match Settings::load(&[]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wuye: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Migrate => migrate(&settings).await,
        Command::Serve { demo } => {
            settings.demo = demo;
            serve(settings).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "wuye stopped");
            eprintln!("wuye: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let db = crate::db::connect(&settings.database.url, 2, std::time::Duration::from_secs(30)).await?;
    crate::db::migrate(&db).await?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let demo = settings.demo;
    let host = settings.server.host.clone();
    let app = Application::build(settings).await?;
    let base = format!("http://{host}:{}", app.port());
    tracing::info!(api = %format!("{base}/api/v1"), docs = %format!("{base}/docs/"), "wuye listening");
    if demo {
        tracing::info!(
            owner_login = %format!("POST {base}/api/v1/auth/demo/login {{\"phone\":\"{}\"}}", crate::services::demo::DEMO_OWNER_PHONE),
            staff_login = %format!("POST {base}/api/v1/auth/staff/login {{\"username\":\"admin\",\"password\":\"wuye-demo-2026\"}}"),
            "demo logins"
        );
    }
    app.run_until_stopped().await?;
    Ok(())
}

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
        /// Port to listen on (beside `server.port` / `WUYE__SERVER__PORT`).
        #[arg(long)]
        port: Option<u16>,
        /// Address to bind (beside `server.host` / `WUYE__SERVER__HOST`), e.g. 0.0.0.0.
        #[arg(long)]
        bind: Option<String>,
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
        Command::Serve { demo, port, bind } => {
            settings.demo = demo;
            if let Some(p) = port {
                settings.server.port = p;
            }
            if let Some(b) = bind {
                settings.server.host = b;
            }
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
    let app = Application::build(settings).await?;
    // A short human summary first (where to go, how to log in, what is configured); JSON logs follow.
    println!("{}", crate::startup::banner(&app.state, app.port(), app.metrics_port()));
    tracing::info!(port = app.port(), "wuye listening");
    app.run_until_stopped().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_takes_port_and_bind() {
        let cli = Cli::try_parse_from(["wuye", "serve", "--demo", "--port", "9000", "--bind", "0.0.0.0"]).unwrap();
        match cli.command {
            Command::Serve { demo, port, bind } => {
                assert!(demo);
                assert_eq!(port, Some(9000));
                assert_eq!(bind.as_deref(), Some("0.0.0.0"));
            }
            Command::Migrate => panic!("parsed as migrate"),
        }
        assert!(Cli::try_parse_from(["wuye", "serve", "--port", "x"]).is_err());
    }
}

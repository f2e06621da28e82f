//! The `bookstore-web` binary: reads the configuration (`--help` lists it),
//! sets up logging and tracing, serves — or, with `healthcheck`, asks the storefront on
//! BIND_ADDR whether it is up (for container health checks). Holds nothing
//! else.

use clap::{Parser, Subcommand};

use bookstore_web::config::Config;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "bookstore-web", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the storefront on BIND_ADDR (what runs without a command).
    Serve,
    /// Exit 0 if the storefront on BIND_ADDR answers `/healthz` with 200
    /// within 5 seconds, 1 otherwise.
    Healthcheck,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Healthcheck) = cli.command {
        let healthy = bookstore_edge::healthcheck::healthy(cli.config.bind_addr).await;
        std::process::exit(if healthy { 0 } else { 1 });
    }
    let config = cli.config.checked();
    // Logs (RUST_LOG, LOG_FORMAT=json) and, with OTEL_EXPORTER_OTLP_ENDPOINT,
    // span export: as the backend does them.
    let telemetry =
        bookstore_telemetry::init("bookstore-web", &bookstore_telemetry::Settings::from_env())
            .map_err(anyhow::Error::msg)?;
    let outcome = bookstore_web::serve(config).await;
    // Sends the spans still queued for the collector (if exporting).
    telemetry.shutdown();
    outcome
}

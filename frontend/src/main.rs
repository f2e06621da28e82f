//! The `bookstore-web` binary: reads the configuration (`--help` lists it),
//! sets up logging, serves — or, with `healthcheck`, asks the storefront on
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
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
    bookstore_web::serve(config).await
}

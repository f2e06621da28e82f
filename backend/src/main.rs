//! The `bookstore` binary: parses the command line and calls the library.
//! Holds nothing else.

use clap::{Parser, Subcommand};

use bookstore::config::Config;

// glibc's allocator showed up as a fifth of the CPU profile of a catalog
// request (many small, short-lived allocations); mimalloc handles those well.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The bookstore GraphQL backend. Every option is also read from the
/// environment variable shown next to it (or from `.env`, in development).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Run pending migrations, then serve GraphQL on BIND_ADDR.
    Serve {
        /// Load the demo catalog first if the catalog is empty.
        #[arg(long)]
        seed_demo_if_empty: bool,
    },
    /// Run pending migrations, then only the background work (outbox
    /// delivery, periodic jobs) until stopped: for running it apart from
    /// `serve` (set SERVE_RUNS_WORKER=false there).
    Worker,
    /// Queue a test email to ADDRESS through the outbox (delivered by a
    /// running `serve` or `worker`): checks the path to the SMTP server.
    SendTestMail {
        #[arg(long, value_name = "ADDRESS")]
        to: String,
    },
    /// Run pending migrations and exit.
    Migrate,
    /// Load the demo catalog (or a synthetic one) into an empty catalog.
    Seed {
        /// Generate this many synthetic books instead (for benchmarks).
        #[arg(long, value_name = "BOOKS")]
        synthetic: Option<u32>,
        /// Synthetic contributors to spread the books over.
        #[arg(long, default_value_t = 2000, requires = "synthetic")]
        contributors: u32,
        /// Also this many synthetic customers (verified, one address each),
        /// unless the database has orders already.
        #[arg(long, default_value_t = 0, requires = "synthetic")]
        customers: u32,
        /// Paid or shipped orders (three lines each) per synthetic customer.
        #[arg(long, default_value_t = 10, requires = "customers")]
        orders_per_customer: u32,
    },
    /// Create a staff account (or make an existing account staff). The
    /// password is asked for at the terminal, or read from the first line
    /// of standard input: never from the command line.
    CreateStaff {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Staff")]
        name: String,
    },
    /// Print the GraphQL schema (SDL); `schema.graphql` is this output.
    ExportSchema,
    /// Exit 0 if the backend on BIND_ADDR answers `/healthz` with 200
    /// within 5 seconds, 1 otherwise (for container health checks).
    Healthcheck {
        /// Ask `/readyz` instead: 200 only while Postgres answers.
        #[arg(long)]
        ready: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `.env` is for development; a missing file is not an error.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    if let Command::ExportSchema = cli.command {
        print!("{}", bookstore::graphql::sdl());
        return Ok(());
    }
    if let Command::Healthcheck { ready } = cli.command {
        let path = if ready { "/readyz" } else { "/healthz" };
        let healthy = bookstore_edge::healthcheck::answers_ok(cli.config.bind_addr, path).await;
        std::process::exit(if healthy { 0 } else { 1 });
    }
    let telemetry = bookstore::telemetry::init()?;
    let config = cli.config.normalized().checked()?;
    let outcome = run(cli.command, config).await;
    // Sends the spans still queued for the collector (if exporting).
    telemetry.shutdown();
    outcome
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { seed_demo_if_empty } => bookstore::serve(config, seed_demo_if_empty).await,
        Command::Worker => bookstore::worker(config).await,
        Command::SendTestMail { to } => {
            bookstore::db::run_migrations(&config.database_url).await?;
            let state = bookstore::app::AppState::new(&config)?;
            bookstore::jobs::outbox::enqueue_test_message(&state.db, &to).await?;
            println!("queued a test message to {to}; a running `serve` or `worker` sends it");
            Ok(())
        }
        Command::Migrate => {
            let applied = bookstore::db::run_migrations(&config.database_url).await?;
            tracing::info!(?applied, "migrations up to date");
            Ok(())
        }
        Command::Seed {
            synthetic,
            contributors,
            customers,
            orders_per_customer,
        } => {
            bookstore::db::run_migrations(&config.database_url).await?;
            // Bulk loads may run long: no statement timeout here.
            let options = bookstore::db::PoolOptions {
                size: 1,
                statement_timeout: std::time::Duration::ZERO,
            };
            let db = bookstore::db::Db::new(&config.database_url, None, options);
            let mut conn = db.primary().await?;
            let report = match synthetic {
                Some(books) => bookstore::seed::synthetic(&mut conn, books, contributors).await?,
                None => bookstore::seed::demo(&mut conn).await?,
            };
            tracing::info!(%report, "seed");
            println!("{report}");
            if customers > 0 {
                let report =
                    bookstore::seed::customers(&mut conn, customers, orders_per_customer).await?;
                tracing::info!(%report, "seed");
                println!("{report}");
            }
            Ok(())
        }
        Command::CreateStaff { email, name } => {
            let password = bookstore::accounts::read_password()?;
            bookstore::db::run_migrations(&config.database_url).await?;
            let state = bookstore::app::AppState::new(&config)?;
            let message =
                bookstore::accounts::create_staff(&state.db, &state.cache, &email, &name, password)
                    .await?;
            println!("{message}");
            Ok(())
        }
        Command::ExportSchema | Command::Healthcheck { .. } => Ok(()),
    }
}

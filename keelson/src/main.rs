//! `keelson`: the multi-call server binary. One executable runs every server component —
//! `keelson up` (the whole cluster in one process), or one component per process:
//! `apiserver`, `scheduler`, `controllers`, `kubelet`, `proxy`.

mod apiserver;
mod controllers;
mod kubelet;
mod logging;
mod node_flags;
mod scheduler;
mod up;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc, not glibc's malloc: the servers allocate and free small JSON values from
/// many threads at once, where glibc's arenas contend (see ARCHITECTURE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status for a command that cannot run as asked (BSD `EX_USAGE`).
const EXIT_USAGE: u8 = 64;

#[derive(Debug, Parser)]
#[command(
    name = "keelson",
    version,
    about = "A Kubernetes-compatible cluster orchestrator"
)]
struct Cli {
    /// Log format: human-readable text or one JSON object per line. Filter with RUST_LOG.
    #[arg(long, global = true, value_enum, default_value_t = logging::LogFormat::Text)]
    log_format: logging::LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a whole cluster in one process: apiserver, scheduler, controllers, kubelets.
    Up(up::Args),
    /// Serve the Kubernetes API over a storage backend.
    Apiserver(apiserver::Args),
    /// Bind pending pods to nodes.
    Scheduler(scheduler::Args),
    /// Run the controllers that reconcile toward desired state.
    Controllers(controllers::Args),
    /// Run the pods bound to one node.
    Kubelet(kubelet::Args),
    /// Program Service load balancing on a node.
    Proxy(Pending),
}

/// Arguments of a component that is not built yet: accepted, then refused with a message.
#[derive(Debug, clap::Args)]
struct Pending {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    args: Vec<String>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version print to stdout and succeed; bad arguments are usage errors.
            let code = if err.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    if let Err(err) = logging::init(cli.log_format) {
        eprintln!("keelson: cannot set up logging: {err:#}");
        return ExitCode::from(EXIT_USAGE);
    }
    match cli.command {
        Command::Up(args) => match args.config() {
            Ok(config) => run_async("up", up::run(config)),
            Err(err) => usage_error("up", &err),
        },
        Command::Apiserver(args) => match args.config() {
            Ok(config) => run_async("apiserver", apiserver::run(config)),
            Err(err) => usage_error("apiserver", &err),
        },
        Command::Scheduler(args) => match args.config() {
            Ok(config) => run_async("scheduler", scheduler::run(args, config)),
            Err(err) => usage_error("scheduler", &err),
        },
        Command::Controllers(args) => match args.settings() {
            Ok(settings) => run_async("controllers", controllers::run(args, settings)),
            Err(err) => usage_error("controllers", &err),
        },
        Command::Kubelet(args) => match args.config() {
            Ok(config) => run_async("kubelet", kubelet::run(args, config)),
            Err(err) => usage_error("kubelet", &err),
        },
        Command::Proxy(_) => {
            tracing::debug!(
                command = "proxy",
                "refusing a component that is not built yet"
            );
            eprintln!("keelson proxy: not built yet; it arrives with the proxy issue.");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// A command that cannot run as asked: says why, exits 64.
fn usage_error(name: &str, err: &anyhow::Error) -> ExitCode {
    eprintln!("keelson {name}: {err:#}");
    ExitCode::from(EXIT_USAGE)
}

/// Runs a component's future on a multi-threaded runtime; errors exit 1 with their chain.
fn run_async(name: &str, fut: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("keelson {name}: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("keelson {name}: {err:#}");
            ExitCode::FAILURE
        }
    }
}

//! dmguard embedded in an HTTP service, with the review page a support
//! team works in.
//!
//! ```text
//! cargo run --release --features service --example service -- \
//!     [--listen 127.0.0.1:8080] [--policy FILE] [--model FILE] [--data DIR]
//!     [--redis URL [--prefix P]]
//! ```
//!
//! Routes (DMs and verdicts in the JSON contract of `dmguard::wire`, the
//! same as the `score` example's):
//!
//! - `POST /v1/check`: one DM → its verdict; a flagged DM is held for review.
//! - `POST /v1/check/batch`: JSON lines → one answer line each, in order.
//! - `POST /v1/outgoing`: the brand's own DM, for conversation trust.
//! - `GET /v1/queue?limit=N&before=SEQ`: held DMs, newest first, paged.
//! - `POST /v1/feedback` `{"id", "label": "spam"|"ham"}`: a decision on a
//!   held DM, learned for its brand; a reversed decision is unlearned first.
//! - `GET /v1/chart?hours=N`: verdicts by hour of event time.
//! - `GET /metrics` (Prometheus text), `GET /healthz`, and the page at `/`.
//!
//! With `--data DIR`, the filter starts from the state saved in
//! `DIR/state` and the held DMs from `DIR/queue.jsonl`; on SIGTERM or
//! ctrl-c the service stops taking connections, finishes the requests in
//! flight, then saves both atomically.
//!
//! With `--redis URL` (built with `--features service,redis`), several
//! services behind a load balancer share one view of the stream and one
//! another's feedback under the prefix `P` (default `dmguard`); each keeps
//! its own queue of held DMs. They must hash alike, so the policy should
//! set `[store] hash_key` (the same on each): without one, the prefix
//! stands in for it and the service says so on stderr.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use dmguard::{Filter, Model, Policy};

mod app;
#[path = "../common/redis.rs"]
mod redis;

use app::queue::Queue;

/// Held DMs the store keeps, decided or not; the oldest decided go first.
const QUEUE_MAX: usize = 10_000;

const USAGE: &str = "usage: service [--listen ADDR] [--policy FILE] [--model FILE] [--data DIR]
               [--redis URL [--prefix P]]

Scores DMs over HTTP and serves the review page at /.

  --listen ADDR   address to listen on; default: 127.0.0.1:8080
  --policy FILE   policy (TOML, or JSON for a .json file); default: built-in
  --model FILE    model written by the train example; default: built-in
  --data DIR      keep the filter's state and the held DMs in DIR across
                  restarts; default: nothing is kept
  --redis URL     share the stream and the feedback with the other services
                  on this Redis (needs the redis feature)
  --prefix P      the deployment's key prefix in Redis; default: dmguard
  -h, --help      print this help and exit";

struct Args {
    listen: SocketAddr,
    policy: Option<PathBuf>,
    model: Option<PathBuf>,
    data: Option<PathBuf>,
    redis: Option<String>,
    prefix: String,
}

/// `Ok(None)` when help was asked for.
fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        policy: None,
        model: None,
        data: None,
        redis: None,
        prefix: "dmguard".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |what: &str| it.next().ok_or(format!("{arg} needs {what}"));
        match arg.as_str() {
            "--listen" => {
                let addr = value("an address")?;
                args.listen = addr
                    .parse()
                    .map_err(|e| format!("--listen {addr:?}: {e}"))?;
            }
            "--policy" => args.policy = Some(value("a file")?.into()),
            "--model" => args.model = Some(value("a file")?.into()),
            "--data" => args.data = Some(value("a directory")?.into()),
            "--redis" => args.redis = Some(value("a URL")?),
            "--prefix" => args.prefix = value("a prefix")?,
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("service: {e}");
            eprintln!("{}", USAGE.lines().next().unwrap_or_default());
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("service: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("service: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut policy = match &args.policy {
        Some(path) => Policy::from_path(path)?,
        None => Policy::default(),
    };
    // A service faces attackers: without a `[store] hash_key` of the
    // operator's, its first start picks a secret one (so that nobody can
    // aim sender ids or texts at the tables), and the saved state carries
    // it to every later start, which then takes it from there.
    let saved = args
        .data
        .as_ref()
        .is_some_and(|dir| dir.join("state").join("MANIFEST").exists());
    if policy.store.hash_key.is_none() && args.redis.is_some() {
        // A key of its own would make this service's hashes mean nothing
        // to the others.
        eprintln!(
            "note: no [store] hash_key in the policy: the services on prefix {:?} key \
             their tables with the prefix, which is no secret",
            args.prefix
        );
    } else if policy.store.hash_key.is_none() && !saved {
        use std::hash::BuildHasher;
        let key = std::collections::hash_map::RandomState::new().hash_one(std::process::id()) | 1;
        policy.store.hash_key = Some(format!("{key:016x}"));
    }
    let mut builder = Filter::builder().policy(policy);
    if let Some(url) = &args.redis {
        builder = redis::on_redis(builder, url, &args.prefix, false)?;
    }
    if let Some(path) = &args.model {
        builder = builder.model(Model::load(path)?);
    }
    let (state_dir, queue) = match &args.data {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let state = dir.join("state");
            builder = builder.state_dir(&state);
            (
                Some(state),
                Queue::open(&dir.join("queue.jsonl"), QUEUE_MAX)?,
            )
        }
        None => (None, Queue::in_memory(QUEUE_MAX)),
    };
    let filter = builder.build()?;
    let held = queue.pending();
    let app = app::App::new(filter, queue, state_dir);

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    eprintln!(
        "service: listening on http://{} ({held} DMs held for review)",
        listener.local_addr()?
    );
    axum::serve(listener, app::router(app.clone()))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    app.save()?;
    match &args.data {
        Some(dir) => eprintln!("service: stopped; state saved in {}", dir.display()),
        None => eprintln!("service: stopped"),
    }
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("service: stopping: finishing the requests in flight");
}

//! `--redis URL` for the examples: a builder that shares the stream through
//! Redis where the `redis` feature is on, and an error that says how to turn
//! it on where it is not.

use dmguard::FilterBuilder;

/// A prefix of this run's own, so that runs do not see each other's keys.
#[allow(dead_code)]
pub fn run_prefix(example: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("dmguard-{example}:{}:{nanos}", std::process::id())
}

/// Shares through the Redis at `url` under `prefix`; with `replay`, the
/// filter exchanges only when asked (`Filter::sync_shared`), as a replay
/// that must give the same verdicts each time does.
#[cfg(feature = "redis")]
pub fn on_redis(
    builder: FilterBuilder,
    url: &str,
    prefix: &str,
    replay: bool,
) -> Result<FilterBuilder, String> {
    let builder = builder.redis(url, prefix);
    Ok(if replay {
        builder.redis_sync_interval(None)
    } else {
        builder
    })
}

#[cfg(not(feature = "redis"))]
pub fn on_redis(
    _builder: FilterBuilder,
    _url: &str,
    _prefix: &str,
    _replay: bool,
) -> Result<FilterBuilder, String> {
    Err("--redis needs the redis feature: add --features redis to the cargo command".into())
}

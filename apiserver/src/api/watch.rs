//! WATCH: a chunked stream of `{"type":…,"object":…}` lines from the watch cache, with
//! bookmarks, `sendInitialEvents` and in-stream 410 errors as upstream sends them.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::Ctx;
use super::error::{ApiError, ApiResult};
use super::read::{cache_of, filter, parse_rv};
use super::request::Output;
use super::respond;
use crate::cache::{CacheEvent, CachedObject, Filter, ResourceCache, WatchStart};
use crate::storage::{EventKind, Revision};

/// Starts a watch and answers with its stream.
pub(crate) async fn watch(ctx: Ctx) -> ApiResult<Response> {
    let filter = filter(&ctx)?;
    let q = &ctx.query;
    let send_initial = q.send_initial_events.unwrap_or(false);
    if send_initial {
        if q.resource_version_match.as_deref() != Some("NotOlderThan") {
            return Err(ApiError::invalid(
                ctx.target.def,
                "",
                vec![super::Cause {
                    reason: "FieldValueForbidden",
                    message: "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan".into(),
                    field: "sendInitialEvents".into(),
                }],
            ));
        }
        if !q.allow_watch_bookmarks {
            return Err(ApiError::invalid(
                ctx.target.def,
                "",
                vec![super::Cause {
                    reason: "FieldValueForbidden",
                    message: "sendInitialEvents requires setting allowWatchBookmarks to true"
                        .into(),
                    field: "allowWatchBookmarks".into(),
                }],
            ));
        }
    } else if q.resource_version_match.is_some() {
        return Err(ApiError::bad_request(
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ));
    }
    let caches = ctx.state.caches();
    let cache = cache_of(&ctx)?;
    let rv = q.resource_version.as_deref();
    let (initial, start, too_old) = match (rv, send_initial) {
        (None, _) | (Some("0"), _) => {
            if rv.is_none() {
                caches.consistent_revision().await.map_err(ApiError::from)?;
            }
            let (objects, start) = cache.watch_snapshot(&filter, caches.progress());
            (objects, Some(start), None)
        }
        (Some(rv), true) => {
            let rv = parse_rv(rv)?;
            if !caches.wait_for(rv).await {
                return Err(ApiError::timeout(format!(
                    "Too large resource version: {rv}"
                )));
            }
            let (objects, start) = cache.watch_snapshot(&filter, caches.progress());
            (objects, Some(start), None)
        }
        (Some(rv), false) => {
            let rv = parse_rv(rv)?;
            if !caches.wait_for(rv).await {
                return Err(ApiError::timeout(format!(
                    "Too large resource version: {rv}"
                )));
            }
            match cache.watch_from(rv, &filter) {
                Ok(start) => (Vec::new(), Some(start), None),
                Err(old) => (Vec::new(), None, Some((rv, old.oldest))),
            }
        }
    };
    let deadline = q
        .timeout_seconds
        .map(Duration::from_secs)
        .unwrap_or(ctx.state.config().max_watch)
        .min(ctx.state.config().max_watch);
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let writer = Writer::new(&ctx);
    let cache_arc = ctx
        .state
        .caches()
        .get(ctx.target.def)
        .cloned()
        .ok_or_else(|| ApiError::internal("no cache for this resource"))?;
    let state = ctx.state.clone();
    let allow_bookmarks = q.allow_watch_bookmarks && ctx.output != Output::Table;
    let def = ctx.target.def;
    tokio::spawn(async move {
        let _watching = crate::metrics::watch_started(def.group, def.plural);
        let run = Run {
            tx,
            writer,
            filter,
            cache: cache_arc,
            allow_bookmarks,
            bookmark_interval: state.config().bookmark_interval,
        };
        let mut shutdown = state.shutdown();
        let progress = state.caches().subscribe_progress();
        tokio::select! {
            _ = run.run(initial, start, too_old, send_initial, progress) => {}
            _ = tokio::time::sleep(deadline) => {}
            _ = shutdown.wait_for(|s| *s) => {}
        }
    });
    let stream =
        tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok::<_, std::convert::Infallible>);
    let mut response = (StatusCode::OK, Body::from_stream(stream)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

use crate::pointer::At;
use futures::StreamExt as _;

/// Encodes events in the asked form.
struct Writer {
    def: &'static crate::registry::ResourceDef,
    output: Output,
    include: crate::table::IncludeObject,
    wrote_columns: bool,
}

impl Writer {
    fn new(ctx: &Ctx) -> Self {
        Self {
            def: ctx.target.def,
            output: ctx.output,
            include: ctx.query.include_object,
            wrote_columns: false,
        }
    }

    fn line(kind: &str, object: &[u8]) -> Bytes {
        let mut out = BytesMut::with_capacity(object.len() + 32);
        out.put_slice(b"{\"type\":\"");
        out.put_slice(kind.as_bytes());
        out.put_slice(b"\",\"object\":");
        out.put_slice(object);
        out.put_slice(b"}\n");
        out.freeze()
    }

    fn event(&mut self, kind: EventKind, obj: &CachedObject) -> Bytes {
        let kind = match kind {
            EventKind::Added => "ADDED",
            EventKind::Modified => "MODIFIED",
            EventKind::Deleted => "DELETED",
        };
        match self.output {
            Output::Json if self.def.conversion.is_none() => Self::line(kind, &obj.bytes),
            Output::Json => {
                let v = respond::served(self.def, obj.value());
                Self::line(kind, &serde_json::to_vec(&v).unwrap_or_default())
            }
            Output::Metadata => {
                let v = respond::partial(&obj.metadata_value());
                Self::line(kind, &serde_json::to_vec(&v).unwrap_or_default())
            }
            Output::Table => {
                let v = respond::served(self.def, obj.value());
                let rv = v
                    .at("/metadata/resourceVersion")
                    .cloned()
                    .unwrap_or(Value::Null);
                let table = crate::table::render(
                    self.def.table,
                    std::slice::from_ref(&v),
                    self.include,
                    !self.wrote_columns,
                    json!({"resourceVersion": rv}),
                    jiff::Timestamp::now(),
                );
                self.wrote_columns = true;
                Self::line(kind, &serde_json::to_vec(&table).unwrap_or_default())
            }
        }
    }

    fn bookmark(&self, rev: Revision, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rev.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = match self.output {
            Output::Metadata => {
                json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta})
            }
            _ => {
                json!({"kind": self.def.kind, "apiVersion": self.def.api_version(), "metadata": meta})
            }
        };
        Self::line("BOOKMARK", &serde_json::to_vec(&obj).unwrap_or_default())
    }

    fn gone(requested: Revision, oldest: Revision) -> Bytes {
        let status =
            ApiError::gone(format!("too old resource version: {requested} ({oldest})")).status();
        Self::line("ERROR", &serde_json::to_vec(&status).unwrap_or_default())
    }
}

struct Run {
    tx: mpsc::Sender<Bytes>,
    writer: Writer,
    filter: Filter,
    cache: Arc<ResourceCache>,
    allow_bookmarks: bool,
    bookmark_interval: Duration,
}

impl Run {
    async fn send(&self, b: Bytes) -> bool {
        self.tx.send(b).await.is_ok()
    }

    async fn run(
        mut self,
        initial: Vec<Arc<CachedObject>>,
        start: Option<WatchStart>,
        too_old: Option<(Revision, Revision)>,
        send_initial_end: bool,
        mut progress: tokio::sync::watch::Receiver<Revision>,
    ) {
        if let Some((requested, oldest)) = too_old {
            let _ = self.send(Writer::gone(requested, oldest)).await;
            return;
        }
        let Some(start) = start else { return };
        for obj in &initial {
            let line = self.writer.event(EventKind::Added, obj);
            if !self.send(line).await {
                return;
            }
        }
        let mut last = start.revision;
        if send_initial_end {
            let line = self.writer.bookmark(last, true);
            if !self.send(line).await {
                return;
            }
        }
        for ev in &start.replay {
            if !self.deliver(ev, &mut last).await {
                return;
            }
        }
        let mut receiver = start.receiver;
        let mut ticker = tokio::time::interval(self.bookmark_interval);
        ticker.tick().await;
        loop {
            tokio::select! {
                received = receiver.recv() => match received {
                    Ok(ev) => {
                        if !self.deliver(&ev, &mut last).await {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        match self.cache.events_after(last) {
                            Ok(events) => {
                                for ev in &events {
                                    if !self.deliver(ev, &mut last).await {
                                        return;
                                    }
                                }
                            }
                            Err(old) => {
                                let _ = self.send(Writer::gone(last, old.oldest)).await;
                                return;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = ticker.tick(), if self.allow_bookmarks => {
                    // Safe only when nothing of this resource at or below the global
                    // progress is still queued for us.
                    let global = *progress.borrow_and_update();
                    if ResourceCache::pending(&receiver) == 0 && global > last {
                        last = global;
                        if !self.send(self.writer.bookmark(last, false)).await {
                            return;
                        }
                    }
                }
            }
        }
    }

    async fn deliver(&mut self, ev: &CacheEvent, last: &mut Revision) -> bool {
        if ev.rev() <= *last {
            return true;
        }
        *last = ev.rev();
        match self.filter.translate(ev) {
            Some(kind) => {
                let line = self.writer.event(kind, &ev.object);
                self.send(line).await
            }
            None => true,
        }
    }
}

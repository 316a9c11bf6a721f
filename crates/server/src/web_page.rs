//! The victim report page (`serve --web-dir`): its built files served on the gRPC port, so that a
//! small organisation runs one process and the page calls gRPC-Web on its own origin.
//!
//! gRPC and gRPC-Web calls are `POST`s and CORS preflights `OPTIONS`; only `GET` and `HEAD` reach
//! the files, through tower-http's `ServeDir`: content types from the file name, `index.html` for
//! a directory (never a listing), and no path outside the directory (`..` and absolute parts are
//! refused). Every page answer says not to sniff types, not to be framed and to load code only
//! from this origin.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderName, HeaderValue, Method};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// The headers every file answer carries.
const PAGE_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'none'",
    ),
];

/// The layer: files from `dir` for `GET` and `HEAD`, everything else to the gRPC services.
#[derive(Clone, Debug)]
pub struct WebPageLayer {
    dir: Option<PathBuf>,
}

impl WebPageLayer {
    /// Serves the files under `dir`, or none.
    pub fn new(dir: Option<&Path>) -> Self {
        Self { dir: dir.map(Path::to_path_buf) }
    }
}

impl<S> tower::Layer<S> for WebPageLayer {
    type Service = WebPage<S>;
    fn layer(&self, inner: S) -> WebPage<S> {
        WebPage { inner, files: self.dir.as_ref().map(ServeDir::new) }
    }
}

/// The service [`WebPageLayer`] makes.
#[derive(Clone, Debug)]
pub struct WebPage<S> {
    inner: S,
    files: Option<ServeDir>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ResBody> tower::Service<http::Request<tonic::body::Body>> for WebPage<S>
where
    S: tower::Service<http::Request<tonic::body::Body>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<tower::BoxError>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let for_files = matches!(*request.method(), Method::GET | Method::HEAD);
        match (&self.files, for_files) {
            (Some(files), true) => {
                let files = files.clone();
                Box::pin(async move {
                    let answer = files.oneshot(request).await.unwrap_or_else(|e: Infallible| match e {});
                    let (mut parts, body) = answer.into_parts();
                    for (name, value) in PAGE_HEADERS {
                        parts.headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
                    }
                    Ok(http::Response::from_parts(parts, tonic::body::Body::new(body)))
                })
            }
            _ => {
                // The clone that was polled ready serves this call; a fresh clone waits for the next.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                Box::pin(async move { Ok(inner.call(request).await?.map(tonic::body::Body::new)) })
            }
        }
    }
}

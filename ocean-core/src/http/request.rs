//! A request to the third party being put together, in reqwest's builder style.

use super::ThirdPartyClient;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Body, Response};
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// A request being built by a [`ThirdPartyClient`]: reqwest's `RequestBuilder` whose
/// [`send`](Self::send) retries and respects the host's limits.
pub struct RequestBuilder {
    client: ThirdPartyClient,
    inner: reqwest::RequestBuilder,
}

impl fmt::Debug for RequestBuilder {
    /// Shows neither the headers nor the URL (they may hold credentials).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("lane", &self.client.lane())
            .finish_non_exhaustive()
    }
}

impl RequestBuilder {
    pub(super) fn new(client: ThirdPartyClient, inner: reqwest::RequestBuilder) -> Self {
        Self { client, inner }
    }

    fn map(self, change: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> Self {
        Self {
            client: self.client,
            inner: change(self.inner),
        }
    }

    /// Adds a header.
    pub fn header<K, V>(self, key: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.map(|b| b.header(key, value))
    }

    /// Adds headers.
    pub fn headers(self, headers: HeaderMap) -> Self {
        self.map(|b| b.headers(headers))
    }

    /// Appends query parameters (anything `serde_urlencoded` takes: `&[("k", "v")]`, a struct).
    pub fn query<T: Serialize + ?Sized>(self, query: &T) -> Self {
        self.map(|b| b.query(query))
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(self, json: &T) -> Self {
        self.map(|b| b.json(json))
    }

    /// Sets a form body and `Content-Type: application/x-www-form-urlencoded`.
    pub fn form<T: Serialize + ?Sized>(self, form: &T) -> Self {
        self.map(|b| b.form(form))
    }

    /// Sets the body. A streaming body cannot be resent, so its request is sent once.
    pub fn body<T: Into<Body>>(self, body: T) -> Self {
        self.map(|b| b.body(body))
    }

    /// Sends `Authorization: Bearer <token>` (marked sensitive).
    pub fn bearer_auth<T: fmt::Display>(self, token: T) -> Self {
        self.map(|b| b.bearer_auth(token))
    }

    /// Sends HTTP basic authentication (marked sensitive).
    pub fn basic_auth<U: fmt::Display, P: fmt::Display>(
        self,
        username: U,
        password: Option<P>,
    ) -> Self {
        self.map(|b| b.basic_auth(username, password))
    }

    /// The timeout of each send of this request (replaces the client's).
    pub fn timeout(self, timeout: Duration) -> Self {
        self.map(|b| b.timeout(timeout))
    }

    /// Builds the request without sending it.
    pub fn build(self) -> Result<reqwest::Request, reqwest::Error> {
        self.inner.build()
    }

    /// Sends the request, retrying and waiting for the host's limits as the client does.
    /// Returns the answer that was not retried, whatever its status; errors are reqwest's
    /// (building or transport), with the URL's query string removed.
    pub async fn send(self) -> Result<Response, reqwest::Error> {
        let request = self.inner.build()?;
        self.client.execute(request).await
    }
}

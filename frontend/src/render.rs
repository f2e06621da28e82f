//! Templates: minijinja with autoescaping (every `.html` template). Release
//! builds use the templates embedded at compile time; debug builds read them
//! from disk on every request, so editing one needs no rebuild.
//!
//! Every template gets the formatting filters (`format`: language names,
//! ISBNs, dates, statuses, money) and three globals: `style_version`,
//! `script_version` and `public_url`, the shop's configured public address (`PUBLIC_URL`) that
//! canonical and sharing links start with (never the request's `Host`).
//!
//! Owns the template environment only; it never turns autoescaping off,
//! never knows about visitors or the backend, and imports no module of the
//! crate but `stylesheet` and `script` (for their versions) and `format`.

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, Value};

use crate::{format, script, stylesheet};

pub struct Templates {
    #[cfg(not(debug_assertions))]
    env: Environment<'static>,
    /// `PUBLIC_URL` without a trailing slash.
    #[cfg(debug_assertions)]
    public_url: String,
}

impl Templates {
    /// The templates of a shop whose public address is `public_url`
    /// (`https://shop.example.com`, no trailing slash).
    pub fn new(public_url: &str) -> Self {
        Self {
            #[cfg(not(debug_assertions))]
            env: Self::environment(public_url),
            #[cfg(debug_assertions)]
            public_url: public_url.to_owned(),
        }
    }

    // Start-up: minijinja-embed's generated code `expect`s its own templates,
    // which the build script already parsed (release builds only).
    #[allow(clippy::expect_used)]
    fn environment(public_url: &str) -> Environment<'static> {
        let mut env = Environment::new();
        #[cfg(debug_assertions)]
        env.set_loader(minijinja::path_loader(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates"
        )));
        #[cfg(not(debug_assertions))]
        minijinja_embed::load_templates!(&mut env);
        env.add_global("style_version", stylesheet::version());
        env.add_global("public_url", public_url.trim_end_matches('/'));
        format::register(&mut env);
        env.add_global("script_version", script::version());
        env
    }

    /// Renders `name` with `context`; a template error is logged and shown
    /// as the plain 500 page.
    pub fn render(&self, status: StatusCode, name: &str, context: Value) -> Response {
        match self.html(name, context) {
            Some(html) => (status, Html(html)).into_response(),
            None => failure(),
        }
    }

    /// The HTML of `name` rendered with `context`; `None` (logged) when the
    /// template fails.
    pub fn html(&self, name: &str, context: Value) -> Option<String> {
        #[cfg(debug_assertions)]
        let env = Self::environment(&self.public_url);
        #[cfg(not(debug_assertions))]
        let env = &self.env;
        let rendered = env
            .get_template(name)
            .and_then(|template| template.render(context));
        rendered
            .map_err(|error| tracing::error!(%error, template = name, "template failed"))
            .ok()
    }
}

/// The plain 500 page, for a template that failed.
pub fn failure() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><title>Something went wrong</title><h1>Something went wrong</h1><p>Please try again.</p>",
    )
        .into_response()
}

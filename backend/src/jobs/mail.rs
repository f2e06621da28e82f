//! Mail: renders an outbox message with its templates and hands it to the
//! SMTP server (lettre), or to the log when `SMTP_URL` is unset
//! (development).
//!
//! Templates live in `backend/templates/mail/` (embedded in the binary):
//! `<kind>.txt` gives the subject (`{% block subject %}`) and the plain
//! text, `<kind>.html` the HTML part (autoescaped). Their context is the
//! message's payload plus `public_url`, `shop_name` and `recipient`.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Tokio1Executor};
use minijinja::Environment;

use crate::config::MailConfig;
use crate::db::outbox::Message;

/// Why a message could not be sent.
#[derive(Debug)]
pub enum SendError {
    /// Worth another attempt later (server down, busy, timed out, 4xx).
    Transient(String),
    /// Will never work as it is (no such template, bad address, 5xx).
    Permanent(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transient(text) => write!(f, "transient: {text}"),
            Self::Permanent(text) => write!(f, "permanent: {text}"),
        }
    }
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development without `SMTP_URL`: messages are logged.
    Log,
}

/// Renders and sends messages. Cheap to share (`Arc`).
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    templates: Environment<'static>,
    public_url: String,
    shop_name: String,
    /// The domain of Message-IDs (the public URL's host).
    id_domain: String,
    timeout: Duration,
}

impl Mailer {
    pub fn from_config(config: &MailConfig) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|error| anyhow::anyhow!("MAIL_FROM {:?}: {error}", config.mail_from))?;
        let transport = match config.smtp_url.as_deref() {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|error| anyhow::anyhow!("SMTP_URL is not usable: {error}"))?
                    .timeout(Some(config.smtp_timeout))
                    .pool_config(
                        lettre::transport::smtp::PoolConfig::new()
                            .max_size(u32::from(config.concurrency)),
                    )
                    .build(),
            ),
            None => Transport::Log,
        };
        let public_url = config.public_base().to_owned();
        let id_domain = public_url
            .split_once("://")
            .map_or(public_url.as_str(), |(_, rest)| rest)
            .split(['/', ':'])
            .next()
            .filter(|host| !host.is_empty())
            .unwrap_or("bookstore.localhost")
            .to_owned();
        Ok(Self {
            transport,
            from,
            templates: templates(),
            public_url,
            shop_name: config.shop_name.clone(),
            id_domain,
            timeout: config.smtp_timeout,
        })
    }

    /// Whether messages only go to the log (no `SMTP_URL`).
    pub fn logs_only(&self) -> bool {
        matches!(self.transport, Transport::Log)
    }

    /// Renders `message` into an email (multipart: text + HTML).
    pub fn render(&self, message: &Message) -> Result<lettre::Message, SendError> {
        let rendered = self.render_parts(message).map_err(|error| {
            SendError::Permanent(format!("template {}: {error:#}", message.kind))
        })?;
        let to: Mailbox = message
            .recipient
            .parse()
            .map_err(|error| SendError::Permanent(format!("recipient: {error}")))?;
        lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject)
            // The same id on every attempt: a message sent twice (a worker
            // killed between sending and recording it) can be told apart.
            .message_id(Some(format!("<outbox-{}@{}>", message.id, self.id_domain)))
            .header(AutoSubmitted)
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|error| SendError::Permanent(format!("building the message: {error}")))
    }

    fn render_parts(&self, message: &Message) -> Result<Rendered, minijinja::Error> {
        let mut context = match &message.payload {
            serde_json::Value::Object(fields) => fields.clone(),
            _ => serde_json::Map::new(),
        };
        context.insert("public_url".into(), self.public_url.clone().into());
        context.insert("shop_name".into(), self.shop_name.clone().into());
        context.insert("recipient".into(), message.recipient.clone().into());
        let context = minijinja::Value::from(minijinja::value::Serde(context));
        let text_template = self
            .templates
            .get_template(&format!("{}.txt", message.kind))?;
        let mut captured = text_template.render_captured(context.clone())?;
        let subject = captured.with_state_mut(|state| state.render_block("subject"))?;
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        let text = captured.into_output();
        let html = self
            .templates
            .get_template(&format!("{}.html", message.kind))?
            .render(context)?;
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }

    /// Sends one rendered email, bounded by `SMTP_TIMEOUT_SECS`.
    pub async fn send(&self, email: lettre::Message) -> Result<(), SendError> {
        match &self.transport {
            Transport::Log => {
                let envelope = email.envelope();
                tracing::info!(
                    to = ?envelope.to(),
                    message = %String::from_utf8_lossy(&email.formatted()),
                    "SMTP_URL is unset: message logged, not sent"
                );
                Ok(())
            }
            Transport::Smtp(smtp) => {
                match tokio::time::timeout(self.timeout, smtp.send(email)).await {
                    Err(_) => Err(SendError::Transient("the SMTP server timed out".into())),
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(error)) if error.is_permanent() => {
                        Err(SendError::Permanent(error.to_string()))
                    }
                    Ok(Err(error)) => Err(SendError::Transient(error.to_string())),
                }
            }
        }
    }
}

struct Rendered {
    subject: String,
    text: String,
    html: String,
}

/// `Auto-Submitted: auto-generated` (RFC 3834): no auto-replies to these.
#[derive(Clone)]
struct AutoSubmitted;

impl header::Header for AutoSubmitted {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// The embedded mail templates. `.html` templates are autoescaped, `.txt`
/// ones not; printing an undefined variable is an error (a template that
/// names a missing field fails loudly instead of sending a blank), testing
/// one (`{% if token %}`) is not.
fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
    // The generated loader `expect`s each embedded template to parse; a
    // template that does not parse fails every test at once.
    #[allow(clippy::expect_used)]
    {
        minijinja_embed::load_templates!(&mut env);
    }
    env
}
